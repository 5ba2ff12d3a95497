"""Every grading kept: history, reverting to an earlier grading; and instructors' extensions."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.grader.store.helpers import T0, report, submit


def test_every_grading_is_kept_and_the_newest_is_current(gradebook):
    submission_id, _ = submit(gradebook)
    first = gradebook.record_report(submission_id, report("v1", points=(2.0, 3.0, 0.0)))
    second = gradebook.record_report(submission_id, report("v1", points=(5.0, 5.0, 4.0)))
    third = gradebook.record_report(submission_id, report("v2", points=(1.0, 1.0, 1.0)))

    history = gradebook.gradings(submission_id)

    assert [(g.id, g.grader_version, g.score, g.is_current) for g in history] == [
        (first, "v1", 5.0, False), (second, "v1", 14.0, False), (third, "v2", 3.0, True)]
    assert history[0].graded_at <= history[1].graded_at <= history[2].graded_at
    assert [c.points for c in gradebook.check_results(submission_id, first)] == [2.0, 3.0, 0.0]
    assert [c.points for c in gradebook.check_results(submission_id, second)] == [5.0, 5.0, 4.0]
    assert [c.points for c in gradebook.check_results(submission_id)] == [1.0, 1.0, 1.0]
    assert gradebook.submission(submission_id).grading == history[2]


def test_a_regrade_with_fewer_checks_has_only_its_own(gradebook):
    submission_id, _ = submit(gradebook)
    earlier = gradebook.record_report(submission_id, report("v1"))
    fewer = report("v2")
    fewer.checks = fewer.checks[:2]
    gradebook.record_report(submission_id, fewer)
    assert [c.name for c in gradebook.check_results(submission_id)] == ["builds", "output_shape"]
    assert len(gradebook.check_results(submission_id, earlier)) == 3
    assert gradebook.submission(submission_id).max_score == 10.0


def test_an_error_on_regrade_keeps_the_earlier_grading(gradebook):
    submission_id, _ = submit(gradebook)
    done = gradebook.record_report(submission_id, report("v1"))
    error = gradebook.record_error(submission_id, "failed", "Traceback ...")
    assert [(g.id, g.status, g.is_current) for g in gradebook.gradings(submission_id)] == [
        (done, "done", False), (error, "error", True)]
    assert gradebook.check_results(submission_id) == []
    assert len(gradebook.check_results(submission_id, done)) == 3


def test_revert_makes_an_earlier_grading_current_again(gradebook):
    submission_id, _ = submit(gradebook)
    good = gradebook.record_report(submission_id, report("v1", points=(5.0, 5.0, 5.0)))
    gradebook.record_report(submission_id, report("v2", points=(0.0, 0.0, 0.0)))
    error = gradebook.record_error(submission_id, "failed", "Traceback ...")

    gradebook.revert(submission_id, good)

    stored = gradebook.submission(submission_id)
    assert (stored.status, stored.score, stored.grader_version, stored.grading.id) == ("done", 15.0, "v1", good)
    assert [c.points for c in gradebook.check_results(submission_id)] == [5.0, 5.0, 5.0]
    assert [g.is_current for g in gradebook.gradings(submission_id)] == [True, False, False]
    assert [r.id for r in gradebook.finished()] == [submission_id]

    gradebook.revert(submission_id, error)  # any grading, an error too
    assert (gradebook.submission(submission_id).status, gradebook.submission(submission_id).score) == ("error", None)


def test_revert_cancels_a_pending_regrade(gradebook):
    submission_id, _ = submit(gradebook)
    first = gradebook.record_report(submission_id, report("v1"))
    gradebook.requeue(submission_id)
    gradebook.claim_next("w", 600.0)

    gradebook.revert(submission_id, first)

    stored = gradebook.submission(submission_id)
    assert (stored.status, stored.claimed_by, stored.attempts) == ("done", None, 0)
    assert gradebook.record_report(submission_id, report("v2"), worker_id="w") is None
    assert gradebook.claim_next("w", 600.0) is None


def test_revert_and_check_results_refuse_a_grading_of_another_submission(gradebook):
    mine, _ = submit(gradebook, content=b"mine")
    theirs, _ = submit(gradebook, student="s002", content=b"theirs")
    gradebook.record_report(mine, report())
    other = gradebook.record_report(theirs, report())

    expected = f"Expected a grading of submission {mine}. Received grading {other}, which is of submission {theirs}."
    with pytest.raises(ValueError, match=re.escape(expected)):
        gradebook.revert(mine, other)
    with pytest.raises(ValueError, match=re.escape(expected)):
        gradebook.check_results(mine, other)
    with pytest.raises(LookupError, match="No grading with id 9999"):
        gradebook.revert(mine, 9999)
    with pytest.raises(LookupError, match="No submission with id 9999"):
        gradebook.revert(9999, other)
    assert gradebook.submission(mine).grading.submission_id == mine


def test_an_ungraded_submission_has_no_history(gradebook):
    submission_id, _ = submit(gradebook)
    assert (gradebook.gradings(submission_id), gradebook.check_results(submission_id)) == ([], [])


EXTENSION = datetime(2026, 12, 17, 23, 59, tzinfo=timezone(timedelta(hours=8)))


def test_extensions_are_set_replaced_listed_and_removed(gradebook):
    for student in ("s002", "s001"):
        gradebook.ensure_student(student)
    gradebook.set_extension("s002", "lenet5", EXTENSION)
    gradebook.set_extension("s001", "resnet", EXTENSION)
    gradebook.set_extension("s001", "lenet5", EXTENSION)
    gradebook.set_extension("s001", "lenet5", EXTENSION + timedelta(days=1))

    rows = gradebook.extensions()

    assert [(e.student_id, e.assignment, e.until) for e in rows] == [
        ("s001", "lenet5", EXTENSION + timedelta(days=1)), ("s001", "resnet", EXTENSION), ("s002", "lenet5", EXTENSION)]
    assert rows[0].until.utcoffset() == timedelta(0) and rows[0].granted_at.tzinfo is not None
    assert gradebook.remove_extension("s001", "resnet") is True
    assert gradebook.remove_extension("s001", "resnet") is False
    assert [(e.student_id, e.assignment) for e in gradebook.extensions()] == [("s001", "lenet5"), ("s002", "lenet5")]


@pytest.mark.parametrize(("student", "until", "error", "message"), [
    ("nobody", EXTENSION, LookupError, "No student 'nobody'"),
    ("s001", datetime(2026, 12, 17, 23, 59), ValueError, "timezone-aware"),
])
def test_an_extension_needs_a_known_student_and_an_aware_time(gradebook, student, until, error, message):
    gradebook.ensure_student("s001")
    with pytest.raises(error, match=message):
        gradebook.set_extension(student, "lenet5", until)
    assert gradebook.extensions() == []


def test_the_times_in_rows_are_aware_utc(gradebook):
    submission_id, _ = submit(gradebook, submitted_at=T0.astimezone(timezone(timedelta(hours=8))))
    gradebook.record_report(submission_id, report())
    stored = gradebook.submission(submission_id)
    assert stored.submitted_at == T0 and stored.submitted_at.utcoffset() == timedelta(0)
    assert stored.graded_at.utcoffset() == timedelta(0)
