"""The gradebook's tables: students, their submissions, and one row per check per grading."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SUBMISSION_STATUSES = ("queued", "grading", "done", "error")
CHECK_STATUSES = ("passed", "partial", "failed", "error")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """An aware UTC datetime on every backend: SQLite drops the time zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"Expected a timezone-aware datetime. Received {value!r}.")
        return None if value is None else value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """The gradebook's metadata; `Base.metadata.create_all(engine)` creates every table."""


class Setting(Base):
    """A value the gradebook keeps for itself, e.g. the key that pseudonyms are derived with."""

    __tablename__ = "settings"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    """What the value is, e.g. "pseudonym_key"."""
    value: Mapped[str] = mapped_column(Text)
    """The value, as text."""


class Student(Base):
    """Someone who submits; created on their first submission or from a roster."""

    __tablename__ = "students"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    """The student id as the course knows it, e.g. "s001" or the name of a submission folder."""
    display_name: Mapped[str | None] = mapped_column(String)
    """A real name for staff; the scoreboard shows it only where the course allows, else the pseudonym."""
    pseudonym: Mapped[str] = mapped_column(String, unique=True)
    """A stable public name such as "brave-otter-07", derived from the id with the gradebook's key."""
    token_hash: Mapped[str | None] = mapped_column(String)
    """sha256 hex of the student's upload token; the token itself is shown once and never stored."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    """When the student was first seen."""


class Submission(Base):
    """One submitted file (or a zip of a submitted folder) and the outcome of its latest grading."""

    __tablename__ = "submissions"
    __table_args__ = (
        # Re-submitting identical bytes finds this row instead of queueing the same work again.
        UniqueConstraint("student_id", "assignment", "content_hash"),
        CheckConstraint(_one_of("status", SUBMISSION_STATUSES), name="submission_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    """Submission number, increasing in the order submissions arrive."""
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    """Who submitted."""
    assignment: Mapped[str] = mapped_column(String, index=True)
    """The assignment's name, e.g. "lenet5"."""
    filename: Mapped[str] = mapped_column(String)
    """The name the student gave the file or folder."""
    content: Mapped[bytes] = mapped_column(LargeBinary)
    """The submitted bytes, kept so any submission can be regraded; a folder arrives zipped."""
    content_hash: Mapped[str] = mapped_column(String(64))
    """sha256 hex that identifies the content (of the bytes, or a canonical hash of a folder's files)."""
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    """When the submission arrived."""
    status: Mapped[str] = mapped_column(String(16), default="queued")
    """queued, grading, done, or error (the grader failed: not a zero, the score stays empty)."""
    score: Mapped[float | None] = mapped_column(Float)
    """Points from the latest grading; empty until graded and after a grader error."""
    max_score: Mapped[float | None] = mapped_column(Float)
    """Points available in the latest grading."""
    grader_version: Mapped[str | None] = mapped_column(String)
    """The grader version of the latest grading, whose check rows the score sums."""
    graded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """When the latest grading (or grader error) was recorded."""
    execution_seconds: Mapped[float | None] = mapped_column(Float)
    """Wall time of the latest grading's sandbox run."""
    device: Mapped[str | None] = mapped_column(String)
    """What the latest grading computed on, e.g. "GPU: NVIDIA H100"."""
    notes: Mapped[list[str] | None] = mapped_column(JSON)
    """Student-facing notes of the latest grading that are not a check (a list of strings)."""
    instructor_log: Mapped[str | None] = mapped_column(Text)
    """Tracebacks and sandbox output for staff; never shown to the student."""
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Claims by workers since the submission was queued (or requeued for a regrade); a worker that
    stops cleanly hands its claim back uncounted, so what adds up is crashes and lost leases."""
    claimed_by: Mapped[str | None] = mapped_column(String)
    """The worker grading it now ("host:pid:slot"); empty unless the status is grading."""
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """When the claim lapses unless the worker renews it; after that another worker may take over."""


class CheckRow(Base):
    """One check's result in one grading; each grader version keeps its own set, as history."""

    __tablename__ = "check_results"
    __table_args__ = (CheckConstraint(_one_of("status", CHECK_STATUSES), name="check_status"),)

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True)
    """The graded submission."""
    grader_version: Mapped[str] = mapped_column(String, primary_key=True)
    """The grader version that produced this row; regrading with the same version replaces the set."""
    check_name: Mapped[str] = mapped_column(String, primary_key=True)
    """CheckResult.name."""
    points: Mapped[float] = mapped_column(Float)
    """Points earned."""
    max_points: Mapped[float] = mapped_column(Float)
    """Points the check is worth."""
    status: Mapped[str] = mapped_column(String(16))
    """passed, partial, failed, or error, as in CheckResult."""
    message: Mapped[str] = mapped_column(Text)
    """The student-facing message."""
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether the check uses hidden data (its score shows only once grades are published)."""
    position: Mapped[int] = mapped_column(Integer)
    """The check's place in the assignment's order, from 0."""
