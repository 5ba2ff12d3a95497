"""The gradebook's tables: students, submissions (the queue), every grading of each, its checks, extensions."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

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
GRADING_STATUSES = ("done", "error")
CHECK_STATUSES = ("passed", "partial", "failed", "error")
KINDS = ("py", "ipynb", "zip")
"""What a submission is, from its file name: a script, a notebook, or a zipped folder."""
TIME_SOURCES = ("received", "flag", "manifest", "modified")
"""How a submission's time was decided (grader.intake's TIME_SOURCES): the server's receive time,
`--submitted-at`, a manifest CSV beside the files, the file's modification time."""


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


def one_of(column: str, values: tuple[str, ...]) -> str:
    """The SQL of a CHECK that `column` holds one of `values`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """The gradebook's metadata. The tables are made by the migrations (grader.store.migrate), never
    by `create_all`, so that a new gradebook and an upgraded one are the same."""


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
    """One submitted file (a folder arrives as a zip), its place in the grading queue, and which of
    its gradings is current (the one students see)."""

    __tablename__ = "submissions"
    __table_args__ = (
        # Re-submitting identical bytes finds this row instead of queueing the same work again.
        UniqueConstraint("student_id", "assignment", "content_hash"),
        CheckConstraint(one_of("status", SUBMISSION_STATUSES), name="submission_status"),
        CheckConstraint(one_of("kind", KINDS), name="submission_kind"),
        CheckConstraint(one_of("time_source", TIME_SOURCES), name="submission_time_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    """Submission number, increasing in the order submissions arrive."""
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    """Who submitted."""
    assignment: Mapped[str] = mapped_column(String, index=True)
    """The assignment's name, e.g. "lenet5"."""
    filename: Mapped[str] = mapped_column(String)
    """The submitted file's safe name, ending .py, .ipynb or .zip (a folder arrives as NAME.zip;
    gradebooks from before history keep a folder's bare name, with kind "zip")."""
    kind: Mapped[str] = mapped_column(String(8))
    """py, ipynb or zip: how the content is loaded for grading."""
    content: Mapped[bytes] = mapped_column(LargeBinary)
    """The submitted bytes, kept so that every grading, regrades included, grades the same artifact."""
    content_hash: Mapped[str] = mapped_column(String(64))
    """sha256 hex of the content."""
    size_bytes: Mapped[int] = mapped_column(Integer)
    """Length of the content in bytes."""
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    """When the submission was made, as decided by `time_source`: what deadlines are measured against."""
    time_source: Mapped[str] = mapped_column(String(16))
    """How `submitted_at` was decided: received, flag, manifest, or modified (see TIME_SOURCES)."""
    status: Mapped[str] = mapped_column(String(16), default="queued")
    """queued or grading (waiting for, or under, a grading), else the current grading's status:
    done, or error (the grader failed: not a zero, the score stays empty)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Claims by workers since the submission was queued (or requeued for a regrade); a worker that
    stops cleanly hands its claim back uncounted, so what adds up is crashes and lost leases."""
    claimed_by: Mapped[str | None] = mapped_column(String)
    """The worker grading it now ("host:pid:slot"); empty unless the status is grading."""
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """When the claim lapses unless the worker renews it; after that another worker may take over."""
    current_grading_id: Mapped[int | None] = mapped_column(
        ForeignKey("gradings.id", ondelete="SET NULL", use_alter=True, name="fk_submissions_current_grading"))
    """The grading students see: the newest, unless an instructor reverted to an earlier one;
    empty until the first grading is recorded."""


class Grading(Base):
    """One grading of one submission, kept for good: regrades add rows, and any can be made current."""

    __tablename__ = "gradings"
    __table_args__ = (CheckConstraint(one_of("status", GRADING_STATUSES), name="grading_status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    """Grading number, increasing in the order gradings are recorded."""
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    """The graded submission."""
    grader_version: Mapped[str | None] = mapped_column(String)
    """The grader version that graded; empty for a grader error."""
    graded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """When the grading was recorded; empty only for earlier gradings carried over from a gradebook
    that kept no time for them."""
    status: Mapped[str] = mapped_column(String(16))
    """done (scored), or error (the grader failed on the submission: no score, which is not a zero)."""
    score: Mapped[float | None] = mapped_column(Float)
    """Points earned, the sum of the check rows; empty for a grader error."""
    max_score: Mapped[float | None] = mapped_column(Float)
    """Points available; empty for a grader error."""
    execution_seconds: Mapped[float | None] = mapped_column(Float)
    """Wall time of the grading's sandbox run."""
    device: Mapped[str | None] = mapped_column(String)
    """What the grading computed on, e.g. "GPU: NVIDIA H100"."""
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Student-facing notes that are not a check (a list of strings); a grader error's message."""
    instructor_log: Mapped[str | None] = mapped_column(Text)
    """Tracebacks and sandbox output for staff; never shown to the student."""
    worker_id: Mapped[str | None] = mapped_column(String)
    """The worker that recorded it ("host:pid:slot"), where one was named."""
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), deferred=True)
    """What the grading's feedback report draws (grader.pictures.figures.Figures.to_json); empty for
    a grader error and for gradings from before reports. Loaded only when asked for: tens of KB."""


class CheckRow(Base):
    """One check's result in one grading."""

    __tablename__ = "check_results"
    __table_args__ = (CheckConstraint(one_of("status", CHECK_STATUSES), name="check_status"),)

    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id", ondelete="CASCADE"), primary_key=True)
    """The grading it belongs to."""
    check_name: Mapped[str] = mapped_column(String, primary_key=True)
    """CheckResult.name."""
    position: Mapped[int] = mapped_column(Integer)
    """The check's place in the assignment's order, from 0."""
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
    measures: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    """What the check measured as plain numbers (CheckResult.measures), e.g. for the leaderboard."""


class Extension(Base):
    """A later due date for one student on one assignment, granted by an instructor."""

    __tablename__ = "extensions"

    student_id: Mapped[str] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True)
    """Who has the extension."""
    assignment: Mapped[str] = mapped_column(String, primary_key=True)
    """The assignment it extends."""
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    """The student's due date for the assignment; wins over the course file's."""
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    """When it was granted (or last changed)."""
