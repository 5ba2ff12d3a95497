"""Final grades: per student and assignment, which finished submission counts and what it is worth after penalty."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from grader.course.deadlines import Lateness, close_for, due_for, lateness, local_text
from grader.course.policy import Course

if TYPE_CHECKING:
    from grader.store import Gradebook
    from grader.store.rows import ExtensionRow, SubmissionRow


@dataclass(frozen=True)
class Excluded:
    """A finished submission that does not count, and why."""

    submission_id: int
    reason: str
    """E.g. "submitted after lenet5 closed at 2026-12-18 23:59 (Asia/Shanghai)"."""


@dataclass(frozen=True)
class FinalGrade:
    """One student's grade for one assignment under the course's policy."""

    student_id: str
    assignment: str
    submission_id: int | None
    """The submission that counts; None when none does (status "none")."""
    raw_score: float | None
    """The counted submission's score before penalty; None for a grader error (not a zero)."""
    max_score: float | None
    penalty: float
    """The fraction taken off for lateness, 0 <= penalty <= 1."""
    score: float | None
    """raw_score x (1 - penalty), rounded to 2 decimals: the grade. None when there is no score."""
    lateness: str | None
    """"late by 1 day 3 h (2 started days): -20%", or None when the counted submission was on time."""
    why: str
    """Which rule chose the submission: "last of 3", "best of 2, late", "only submission, on time"."""
    status: Literal["done", "error", "none"]
    """done: a score; error: the grader failed on the counted submission (regrade it), no score; none:
    every finished submission lies outside the window (see excluded), no score."""
    submitted_at: datetime | None
    """When the counted submission was made."""
    excluded: tuple[Excluded, ...] = ()
    """The finished submissions outside the window [opens, late_until], oldest first."""


def final_grades(course: Course, submissions: Sequence[SubmissionRow], extensions: Sequence[ExtensionRow] = ()) -> list[FinalGrade]:
    """The final grade of every (student, assignment) among the finished submissions, ordered by
    assignment, then student id. A submission without a current grading is not finished and is skipped."""
    groups: dict[tuple[str, str], list[SubmissionRow]] = defaultdict(list)
    for row in submissions:
        if row.grading is not None:
            groups[(row.assignment, row.student_id)].append(row)
    return [_final_grade(course, student, assignment, rows, extensions)
            for (assignment, student), rows in sorted(groups.items())]


def final_grades_of(gradebook: Gradebook, course: Course, assignment: str | None = None) -> list[FinalGrade]:
    """final_grades over a Gradebook's finished submissions and extensions."""
    return final_grades(course, gradebook.finished(assignment), gradebook.extensions())


def _final_grade(course: Course, student: str, assignment: str, rows: list[SubmissionRow],
                 extensions: Sequence[ExtensionRow]) -> FinalGrade:
    policy = course.policy(assignment)
    counting, excluded = [], []
    for row in sorted(rows, key=lambda r: (r.submitted_at, r.id)):
        reason = _outside_window(course, student, assignment, row.submitted_at, extensions)
        if reason is None:
            counting.append(row)
        else:
            excluded.append(Excluded(row.id, reason))
    if not counting:
        return FinalGrade(student, assignment, None, None, None, 0.0, None, None,
                          f"no submission counts: {len(excluded)} outside the window", "none", None, tuple(excluded))

    due = due_for(course, student, assignment, extensions)
    late = {row.id: lateness(row.submitted_at, due, policy.late_penalty_per_day) for row in counting}
    graded = [row for row in counting if _done(row)]
    if policy.counts == "best" and graded:
        # Equal scores after penalty: the newer submission, by its place in the key.
        chosen = max(graded, key=lambda r: (_after_penalty(r.score, late[r.id]), r.submitted_at, r.id))
        rule = f"best of {len(graded)}" + (" graded" if len(graded) < len(counting) else "")
    else:
        chosen = counting[-1]
        rule = f"last of {len(counting)}"
    if len(counting) == 1:
        rule = "only submission"
    if due is not None:
        rule += ", late" if late[chosen.id].late else ", on time"

    lateness_of_chosen = late[chosen.id]
    if not _done(chosen):
        return FinalGrade(student, assignment, chosen.id, None, None, lateness_of_chosen.penalty, None,
                          lateness_of_chosen.text, rule, "error", chosen.submitted_at, tuple(excluded))
    return FinalGrade(student, assignment, chosen.id, chosen.score, chosen.max_score, lateness_of_chosen.penalty,
                      _after_penalty(chosen.score, lateness_of_chosen), lateness_of_chosen.text, rule, "done",
                      chosen.submitted_at, tuple(excluded))


def _outside_window(course: Course, student: str, assignment: str, when: datetime,
                    extensions: Sequence[ExtensionRow]) -> str | None:
    opens = course.policy(assignment).opens
    close = close_for(course, student, assignment, extensions)
    if opens is not None and when < opens:
        return f"submitted before {assignment} opened at {local_text(course, opens)}"
    if close is not None and when > close:
        return f"submitted after {assignment} closed at {local_text(course, close)}"
    return None


def _done(row: SubmissionRow) -> bool:
    return row.grading is not None and row.grading.status == "done" and row.score is not None


def _after_penalty(raw: float, late: Lateness) -> float:
    return round(raw * (1 - late.penalty), 2)
