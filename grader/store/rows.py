"""What the gradebook hands out: frozen rows, never the database's own objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StudentRow:
    """A student as the gradebook knows them."""

    id: str
    """The student id as the course knows it."""
    display_name: str | None
    """A real name for staff, or None."""
    pseudonym: str
    """The stable public name, e.g. "brave-otter-07"."""
    created_at: datetime
    """When the student was first seen (aware, UTC)."""
    has_token: bool
    """Whether the student has an upload token (only its hash is stored)."""


@dataclass(frozen=True)
class GradingRow:
    """One grading of a submission: every grading is kept, one of them is current."""

    id: int
    """Grading number, increasing in the order gradings were recorded."""
    submission_id: int
    """The graded submission."""
    grader_version: str | None
    """The grader version that graded; None for a grader error."""
    graded_at: datetime | None
    """When it was recorded (aware, UTC); None only for earlier gradings carried over from a
    gradebook that kept no time for them."""
    status: str
    """done, or error (the grader failed: no score, which is not a zero)."""
    score: float | None
    """Points earned; None for a grader error."""
    max_score: float | None
    """Points available; None for a grader error."""
    execution_seconds: float | None
    """Wall time of the sandbox run."""
    device: str | None
    """What it computed on, e.g. "GPU: NVIDIA H100"."""
    notes: tuple[str, ...]
    """Student-facing notes that are not a check; a grader error's message."""
    instructor_log: str | None
    """Tracebacks and sandbox output for staff; never shown to the student."""
    worker_id: str | None
    """The worker that recorded it, where one was named."""
    is_current: bool
    """Whether this is the grading students see."""


@dataclass(frozen=True)
class SubmissionRow:
    """A submission without its bytes (`Gradebook.content` has them), with its current grading."""

    id: int
    """Submission number, increasing in arrival order."""
    student_id: str
    """Who submitted."""
    assignment: str
    """The assignment's name."""
    filename: str
    """The stored file name."""
    kind: str
    """py, ipynb or zip."""
    content_hash: str
    """sha256 hex of the content."""
    size_bytes: int
    """Length of the content."""
    submitted_at: datetime
    """When it was submitted (aware, UTC), as `time_source` decided."""
    time_source: str
    """received, flag, manifest or modified."""
    status: str
    """queued, grading, done or error."""
    attempts: int
    """Worker claims since it was (re)queued."""
    claimed_by: str | None
    """The worker grading it now, if any."""
    lease_expires_at: datetime | None
    """When the current claim lapses, if claimed."""
    grading: GradingRow | None
    """The current grading (what students see), None until one is recorded."""

    @property
    def score(self) -> float | None:
        """The current grading's score; None when ungraded or a grader error."""
        return None if self.grading is None else self.grading.score

    @property
    def max_score(self) -> float | None:
        """The current grading's points available."""
        return None if self.grading is None else self.grading.max_score

    @property
    def graded_at(self) -> datetime | None:
        """When the current grading was recorded."""
        return None if self.grading is None else self.grading.graded_at

    @property
    def grader_version(self) -> str | None:
        """The grader version of the current grading."""
        return None if self.grading is None else self.grading.grader_version

    @property
    def notes(self) -> tuple[str, ...]:
        """The current grading's notes; () when ungraded."""
        return () if self.grading is None else self.grading.notes

    @property
    def device(self) -> str | None:
        """What the current grading computed on."""
        return None if self.grading is None else self.grading.device

    @property
    def execution_seconds(self) -> float | None:
        """Wall time of the current grading's sandbox run."""
        return None if self.grading is None else self.grading.execution_seconds

    @property
    def instructor_log(self) -> str | None:
        """The current grading's log for staff."""
        return None if self.grading is None else self.grading.instructor_log


@dataclass(frozen=True)
class Job:
    """What a claim hands a grader: the submission and the bytes to grade."""

    submission: SubmissionRow
    """The claimed submission (status grading, claimed by the worker, under a lease)."""
    content: bytes
    """The stored bytes, exactly as every grading of this submission gets them."""


@dataclass(frozen=True)
class ExtensionRow:
    """A later due date for one student on one assignment."""

    student_id: str
    """Who has the extension."""
    assignment: str
    """The assignment it extends."""
    until: datetime
    """The student's due date (aware, UTC)."""
    granted_at: datetime
    """When it was granted or last changed (aware, UTC)."""
