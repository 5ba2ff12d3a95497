"""Final grades: the issue's policy table, "best" against "last", grader errors, and no course at all."""

from dataclasses import replace

import pytest

from grader.course import NO_COURSE, Excluded, final_grades
from tests.grader.course.factory import COURSE_TOML, at, course, extension, submission

# lenet5: opens 2026-12-01 08:00, due 2026-12-15 23:59, -10% per started day, hard close 2026-12-18 23:59,
# the last counts; s05 has an extension to 2026-12-17 23:59 in course.toml.
CLOSED = "submitted after lenet5 closed at 2026-12-18 23:59 (Asia/Shanghai)"


@pytest.mark.parametrize("case, student, when, granted, expected", [
    ("on time", "s01", "2026-12-15 23:59", [],
     (8.0, 0.0, 8.0, None, "only submission, on time", "done")),
    ("late by 1 h", "s01", "2026-12-16 00:59", [],
     (8.0, 0.1, 7.2, "late by 1 h (1 started day): -10%", "only submission, late", "done")),
    ("late by 1 day", "s01", "2026-12-16 23:59", [],
     (8.0, 0.1, 7.2, "late by 1 day (1 started day): -10%", "only submission, late", "done")),
    ("late by 3 days, at the hard close", "s01", "2026-12-18 23:59", [],
     (8.0, 0.3, 5.6, "late by 3 days (3 started days): -30%", "only submission, late", "done")),
    ("after the hard close", "s01", "2026-12-19 00:00", [],
     (None, 0.0, None, None, "no submission counts: 1 outside the window", "none")),
    ("before opens", "s01", "2026-12-01 07:59", [],
     (None, 0.0, None, None, "no submission counts: 1 outside the window", "none")),
    ("with the file's extension", "s05", "2026-12-17 23:00", [],
     (8.0, 0.0, 8.0, None, "only submission, on time", "done")),
    ("late after the file's extension", "s05", "2026-12-18 00:30", [],
     (8.0, 0.1, 7.2, "late by 31 min (1 started day): -10%", "only submission, late", "done")),
    ("with the gradebook's extension", "s01", "2026-12-16 12:00", [extension("s01", "lenet5", at("2026-12-16 23:59"))],
     (8.0, 0.0, 8.0, None, "only submission, on time", "done")),
    ("an extension past the hard close moves it", "s01", "2026-12-20 12:00",
     [extension("s01", "lenet5", at("2026-12-21 00:00"))], (8.0, 0.0, 8.0, None, "only submission, on time", "done")),
])
def test_the_policy_table(case, student, when, granted, expected):
    [grade] = final_grades(course(), [submission(1, student, "lenet5", at(when))], granted)
    assert (grade.raw_score, grade.penalty, grade.score, grade.lateness, grade.why, grade.status) == expected
    assert grade.submission_id == (None if grade.status == "none" else 1)


def test_a_submission_outside_the_window_says_why_it_did_not_count():
    rows = [submission(1, "s01", "lenet5", at("2026-11-30 12:00"), score=10.0),
            submission(2, "s01", "lenet5", at("2026-12-10 12:00"), score=6.0),
            submission(3, "s01", "lenet5", at("2026-12-19 08:00"), score=10.0)]
    [grade] = final_grades(course(), rows)
    assert (grade.submission_id, grade.score, grade.why) == (2, 6.0, "only submission, on time")
    assert grade.excluded == (
        Excluded(1, "submitted before lenet5 opened at 2026-12-01 08:00 (Asia/Shanghai)"), Excluded(3, CLOSED))


# Two submissions: 7.0 on time, then 7.5 one day late (7.5 x 0.9 = 6.75 under lenet5's 10%).
ON_TIME_THEN_LATE = [(1, "2026-12-14 12:00", 7.0), (2, "2026-12-16 12:00", 7.5)]


@pytest.mark.parametrize("counts, submitted, expected", [
    ("last", ON_TIME_THEN_LATE, (2, 7.5, 0.1, 6.75, "last of 2, late")),
    ("best", ON_TIME_THEN_LATE, (1, 7.0, 0.0, 7.0, "best of 2, on time")),
    # The best is the best after penalty: 9.0 three days late is 6.3, below 7.0 on time.
    ("best", [(1, "2026-12-14 12:00", 7.0), (2, "2026-12-18 12:00", 9.0)], (1, 7.0, 0.0, 7.0, "best of 2, on time")),
    ("best", [(1, "2026-12-14 12:00", 5.0), (2, "2026-12-16 12:00", 9.0)], (2, 9.0, 0.1, 8.1, "best of 2, late")),
    # Equal after penalty: the newer.
    ("best", [(1, "2026-12-14 12:00", 6.0), (2, "2026-12-14 18:00", 6.0), (3, "2026-12-13 12:00", 6.0)],
     (2, 6.0, 0.0, 6.0, "best of 3, on time")),
    # Same time: the higher id is the newer.
    ("last", [(4, "2026-12-14 12:00", 6.0), (3, "2026-12-14 12:00", 9.0)], (4, 6.0, 0.0, 6.0, "last of 2, on time")),
])
def test_best_against_last(counts, submitted, expected):
    rows = [submission(id, "s01", "lenet5", at(when), score=score) for id, when, score in submitted]
    [grade] = final_grades(_with_counts(counts), rows)
    assert (grade.submission_id, grade.raw_score, grade.penalty, grade.score, grade.why) == expected


def _with_counts(counts):
    """The shared course with lenet5 counting `counts`."""
    return course(COURSE_TOML.replace("late_until = \"2026-12-18T23:59:00+08:00\"\n",
                                      f"late_until = \"2026-12-18T23:59:00+08:00\"\ncounts = \"{counts}\"\n"))


@pytest.mark.parametrize("counts, statuses, expected", [
    # A grader error is no score, never a zero.
    ("last", ["error"], (1, None, "error", "only submission, on time")),
    ("best", ["error"], (1, None, "error", "only submission, on time")),
    ("best", ["error", "error"], (2, None, "error", "last of 2, on time")),
    ("last", ["done", "error"], (2, None, "error", "last of 2, on time")),
    ("best", ["done", "error"], (1, 8.0, "done", "best of 1 graded, on time")),
    ("last", ["error", "done"], (2, 8.0, "done", "last of 2, on time")),
])
def test_grader_errors(counts, statuses, expected):
    rows = [submission(id, "s01", "lenet5", at(f"2026-12-1{id} 12:00"), status=status)
            for id, status in enumerate(statuses, 1)]
    [grade] = final_grades(_with_counts(counts), rows)
    assert (grade.submission_id, grade.score, grade.status, grade.why) == expected
    assert grade.raw_score == grade.score


def test_without_a_course_the_last_counts_with_no_penalty():
    rows = [submission(1, "s01", "lenet5", at("2020-01-01 00:00"), score=9.0),
            submission(2, "s01", "lenet5", at("2030-01-01 00:00"), score=4.0),
            submission(3, "s02", "lenet5", at("2030-01-01 00:00"), score=5.0)]
    grades = final_grades(NO_COURSE, rows)
    assert [(g.student_id, g.submission_id, g.score, g.penalty, g.lateness, g.why) for g in grades] == [
        ("s01", 2, 4.0, 0.0, None, "last of 2"), ("s02", 3, 5.0, 0.0, None, "only submission")]


def test_grades_are_per_student_and_assignment_ordered_by_assignment_then_student():
    rows = [submission(1, "s02", "resnet", at("2026-12-10 12:00")),
            submission(2, "s01", "resnet", at("2026-12-10 12:00")),
            submission(3, "s02", "lenet5", at("2026-12-10 12:00"))]
    assert [(g.assignment, g.student_id) for g in final_grades(course(), rows)] == [
        ("lenet5", "s02"), ("resnet", "s01"), ("resnet", "s02")]


def test_a_submission_not_graded_yet_is_not_finished():
    graded = submission(1, "s01", "lenet5", at("2026-12-10 12:00"))
    queued = submission(2, "s01", "lenet5", at("2026-12-11 12:00"))
    queued = replace(queued, status="queued", grading=None)
    [grade] = final_grades(course(), [graded, queued])
    assert grade.submission_id == 1
