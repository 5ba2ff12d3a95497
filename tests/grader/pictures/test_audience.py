"""student_view: what of a grading's report its student sees now, as staff are told."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from grader.course import NO_COURSE, load_course
from grader.pictures.audience import student_view
from grader.store.rows import GradingRow, SubmissionRow

T0 = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
GRADING = GradingRow(id=7, submission_id=3, grader_version="v1", graded_at=T0, status="done", score=5.0,
                     max_score=10.0, execution_seconds=1.0, device="CPU", notes=(), instructor_log="",
                     worker_id=None, is_current=True)
SUBMISSION = SubmissionRow(id=3, student_id="s01", assignment="lenet5", filename="lenet5.py", kind="py",
                           content_hash="0" * 64, size_bytes=10, submitted_at=T0, time_source="received",
                           status="done", attempts=1, claimed_by=None, lease_expires_at=None, grading=GRADING)


@pytest.fixture
def due_later(tmp_path):
    path = tmp_path / "course.toml"
    path.write_text('timezone = "Asia/Shanghai"\n[assignments.lenet5]\ndue = 2026-12-10T23:59:00+08:00\n'
                    'release = "after_due"\n')
    return load_course(path)


@pytest.mark.parametrize("case, submission, grading, has_hidden, at, expected", [
    ("an earlier grading", SUBMISSION, replace(GRADING, id=5, is_current=False), True, T0,
     "The student sees the current grading's report (grading 7), not this one (grading 5)."),
    ("a regrade waiting", replace(SUBMISSION, status="queued"), GRADING, True, T0,
     "The student sees neither feedback nor report until the regrade waiting for this submission is done."),
    ("nothing hidden", SUBMISSION, GRADING, False, T0, "The student sees this report as it is here."),
    ("before the due date", SUBMISSION, GRADING, True, T0,
     "The student sees this report without its hidden checks and figures of hidden digits (confusion matrix, "
     "robustness) until hidden results are released, after 2026-12-10 23:59 (Asia/Shanghai)."),
    ("after the due date", SUBMISSION, GRADING, True, T0 + timedelta(days=10),
     "The student sees this report as it is here, hidden checks and figures of hidden digits included."),
])
def test_staff_are_told_what_the_student_sees(due_later, case, submission, grading, has_hidden, at, expected):
    assert student_view(due_later, submission, grading, [], at, has_hidden=has_hidden) == expected, case


def test_without_a_course_hidden_results_are_released_at_once():
    assert student_view(NO_COURSE, SUBMISSION, GRADING, [], T0, has_hidden=True).endswith("included.")
