"""What of a grading's report its student sees now, in one sentence for staff (the CLI's and the site's)."""

from __future__ import annotations

from datetime import datetime

from grader.course import Course
from grader.course.deadlines import due_for, local_text, released
from grader.store.rows import ExtensionRow, GradingRow, SubmissionRow

EVERYTHING = "For staff: this report shows everything, hidden checks and figures of hidden digits included."
PENDING = ("queued", "grading")


def student_view(course: Course, submission: SubmissionRow, grading: GradingRow, extensions: list[ExtensionRow],
                 at: datetime, *, has_hidden: bool) -> str:
    """Whether the student sees this grading at all (it may not be the current one, or a regrade may be
    waiting), and if so whether with its hidden checks and figures of hidden digits, which appear once
    the course releases hidden results (`has_hidden`: the grading has any)."""
    if not grading.is_current:
        current = f" (grading {submission.grading.id})" if submission.grading else ""
        return f"The student sees the current grading's report{current}, not this one (grading {grading.id})."
    if submission.status in PENDING:
        return "The student sees neither feedback nor report until the regrade waiting for this submission is done."
    if not has_hidden:
        return "The student sees this report as it is here."
    if released(course, submission.student_id, submission.assignment, at, extensions):
        return "The student sees this report as it is here, hidden checks and figures of hidden digits included."
    due = due_for(course, submission.student_id, submission.assignment, extensions)
    return ("The student sees this report without its hidden checks and figures of hidden digits (confusion "
            f"matrix, robustness) until hidden results are released, after {local_text(course, due)}.")
