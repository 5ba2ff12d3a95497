"""Rows as the gradebook hands them out, and the course the course tests share."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from grader.course import Course, parse_course
from grader.store.rows import ExtensionRow, GradingRow, StudentRow, SubmissionRow

SHANGHAI = ZoneInfo("Asia/Shanghai")
KNOWN = ("digit_adder", "lenet5", "resnet")

COURSE_TOML = """
timezone = "Asia/Shanghai"

[assignments.lenet5]
opens = "2026-12-01T08:00:00+08:00"
due = "2026-12-15T23:59:00+08:00"
late_penalty_per_day = 0.10
late_until = "2026-12-18T23:59:00+08:00"

[assignments.resnet]
opens = 2026-12-01T08:00:00
due = 2026-12-15T23:59:00
late_penalty_per_day = 0.25
counts = "best"
release = "after_due"

[extensions]
s05 = { lenet5 = "2026-12-17T23:59:00+08:00" }
"""


def course(text: str = COURSE_TOML) -> Course:
    return parse_course(text, "course.toml", KNOWN)


def at(local: str) -> datetime:
    """A Shanghai wall-clock time ("2026-12-16 00:59") as the gradebook stores it: aware, UTC."""
    return datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).astimezone(timezone.utc)


def submission(id: int, student: str, assignment: str, submitted_at: datetime, score: float | None = 8.0,
               max_score: float = 10.0, status: str = "done", notes: tuple[str, ...] = ("graded on CPU",)) -> SubmissionRow:
    """A finished submission; status "error" is a grader error (no score)."""
    grading = GradingRow(
        id=id * 10, submission_id=id, grader_version="v1" if status == "done" else None,
        graded_at=submitted_at, status=status, score=score if status == "done" else None,
        max_score=max_score if status == "done" else None, execution_seconds=12.34, device="CPU: 2 cores",
        notes=notes, instructor_log=None, worker_id="w1", is_current=True)
    return SubmissionRow(
        id=id, student_id=student, assignment=assignment, filename="sub.py", kind="py",
        content_hash=f"{id:064x}", size_bytes=100, submitted_at=submitted_at, time_source="received",
        status=status, attempts=1, claimed_by=None, lease_expires_at=None, grading=grading)


def extension(student: str, assignment: str, until: datetime) -> ExtensionRow:
    return ExtensionRow(student, assignment, until, granted_at=until)


def student(id: str, display_name: str | None = None) -> StudentRow:
    return StudentRow(id, display_name, pseudonym=f"pseudo-{id}", created_at=datetime(2026, 11, 1, tzinfo=timezone.utc),
                      has_token=False)
