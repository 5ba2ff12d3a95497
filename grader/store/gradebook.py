"""The gradebook: students, submissions (the grading queue), every grading of each, and extensions,
behind one SQLAlchemy URL; it hands out frozen rows (grader.store.rows)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import quote

from sqlalchemy import Engine, and_, case, create_engine, delete, event, func, inspect, or_, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, defer, sessionmaker

from grader.pictures.figures import Figures
from grader.results import CheckResult, GradingReport
from grader.store import migrate
from grader.store.rows import ExtensionRow, GradingRow, Job, StudentRow, SubmissionRow
from grader.store.schema import (
    KINDS,
    TIME_SOURCES,
    CheckRow,
    Extension,
    Grading,
    Setting,
    Student,
    Submission,
    utcnow,
)

if TYPE_CHECKING:
    from grader.intake import Artifact

log = logging.getLogger(__name__)

RECORD_ATTEMPTS = 2
"""How many times a grading is offered to the database before the submission becomes a grader error."""

SQLITE_BUSY_TIMEOUT_MS = migrate.SQLITE_BUSY_TIMEOUT_MS
"""How long a SQLite writer waits for another (parallel graders, the site) before failing."""

ADDED_STATUSES = ("queued", "grading")
"""The statuses a submission may start in: waiting for a worker, or claimed by its grader at once."""

ADJECTIVES = (
    "agile", "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "curious",
    "daring", "eager", "fair", "gentle", "glad", "golden", "happy", "humble", "jolly", "keen",
    "kind", "lively", "lucky", "merry", "mighty", "nimble", "noble", "polite", "proud", "quick",
    "quiet", "rapid", "shy", "silver", "sleek", "steady", "sunny", "swift", "witty", "zesty",
)
ANIMALS = (
    "badger", "beaver", "bison", "crane", "dingo", "dolphin", "eagle", "falcon", "ferret", "finch",
    "gecko", "heron", "ibex", "jackal", "koala", "lemur", "lynx", "marten", "moose", "narwhal",
    "ocelot", "orca", "otter", "owl", "panda", "puffin", "quokka", "raven", "seal", "sloth",
    "stork", "tapir", "tiger", "toucan", "turtle", "walrus", "weasel", "whale", "wombat", "yak",
)

TOKEN_BYTES = 16
"""Randomness of an upload token (secrets.token_urlsafe), 22 characters once encoded."""

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_UNCLAIMED = {"claimed_by": None, "lease_expires_at": None}


def pseudonym(student_id: str, key: bytes, attempt: int = 0) -> str:
    """adjective-animal-NN from a keyed hash of the id: stable, but not computable from the id alone."""
    digest = hmac.new(key, f"{attempt}:{student_id}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    number, adjective = divmod(number, len(ADJECTIVES))
    number, animal = divmod(number, len(ANIMALS))
    return f"{ADJECTIVES[adjective]}-{ANIMALS[animal]}-{number % 100:02d}"


class Gradebook:
    """Where grading results are kept, on SQLite (one file) or PostgreSQL (a shared server)."""

    def __init__(self, url: str, read_only: bool = False):
        """Opening a gradebook upgrades its schema first (creating it if new), once however many
        processes open it at once. With `read_only` (the site), the gradebook must exist and be up
        to date already; every write through it raises an error of the database (SQLAlchemy's
        DBAPIError), and it creates nothing."""
        self.url = url
        self.read_only = read_only
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and (not parsed.database or parsed.database == ":memory:"):
            raise ValueError(f"Expected the URL of a SQLite file, sqlite:///PATH. Received {url!r}.")
        if read_only:
            parsed = _read_only_url(parsed)
        elif self.is_sqlite:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if not read_only:
            migrate.upgrade(parsed)
        self.engine: Engine = create_engine(parsed, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _configure_sqlite_reader if read_only else _configure_sqlite)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        if read_only:
            self._check_up_to_date()
            self._pseudonym_key = b""  # never used for a name: a reader cannot add a student
            return
        self._pseudonym_key = self._setting("pseudonym_key", secrets.token_hex(32)).encode()

    @classmethod
    def from_config(cls, config, read_only: bool = False) -> "Gradebook":
        """The gradebook at `config.db_url`."""
        return cls(config.db_url, read_only=read_only)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- students ---

    def ensure_student(self, student_id: str, display_name: str | None = None) -> None:
        """Adds the student if new; a display name given here replaces the stored one."""
        # Two processes may add the same student at once; the loser retries and finds the row.
        for _ in range(3):
            try:
                with self._session.begin() as session:
                    student = session.get(Student, student_id)
                    if student is None:
                        session.add(Student(id=student_id, display_name=display_name,
                                            pseudonym=self._free_pseudonym(session, student_id)))
                    elif display_name is not None:
                        student.display_name = display_name
                return
            except IntegrityError:
                continue
        raise RuntimeError(f"Could not add student {student_id!r}: the insert kept conflicting.")

    def students(self) -> list[StudentRow]:
        """Every student, ordered by id."""
        with self._session.begin() as session:
            return [_student_row(s) for s in session.scalars(select(Student).order_by(Student.id))]

    def student(self, student_id: str) -> StudentRow | None:
        """The student with this id, or None."""
        with self._session.begin() as session:
            student = session.get(Student, student_id)
            return None if student is None else _student_row(student)

    # --- upload tokens ---

    def set_token(self, student_id: str, token: str) -> None:
        """Makes `token` the student's upload token, replacing any earlier one; only its sha256 is stored."""
        if not token:
            raise ValueError("Expected a non-empty token. Received token=''.")
        with self._session.begin() as session:
            student = session.get(Student, student_id)
            if student is None:
                raise LookupError(f"No student {student_id!r} in the gradebook at {self.engine.url!r}.")
            student.token_hash = _token_hash(token)

    def issue_token(self, student_id: str) -> str:
        """A fresh random token for the student, stored hashed: the returned value is the only copy."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self.set_token(student_id, token)
        return token

    def student_for_token(self, token: str) -> str | None:
        """The id of the student whose upload token this is, or None."""
        if not token:
            return None
        digest = _token_hash(token)
        with self._session.begin() as session:
            row = session.execute(select(Student.id, Student.token_hash).where(Student.token_hash == digest)).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return row.id

    # --- submissions ---

    def add_submission(self, student_id: str, assignment: str, artifact: Artifact, *, submitted_at: datetime,
                       time_source: str, status: str = "queued") -> tuple[int, bool]:
        """Stores the artifact as a submission: (submission id, created). Bytes this student already
        submitted for this assignment give the existing id and created False, and are not stored again.

        `submitted_at` (aware) is what deadlines are measured against, `time_source` says how it was
        decided (TIME_SOURCES); `status` is "queued" (for a worker) or "grading" (its grader claims it).
        """
        if not _SHA256_HEX.fullmatch(artifact.content_hash):
            raise ValueError("Expected content_hash as 64 lowercase hex digits (sha256). "
                             f"Received {artifact.content_hash!r}.")
        if hashlib.sha256(artifact.content).hexdigest() != artifact.content_hash:
            raise ValueError(f"Expected content_hash to be the sha256 of the content of {artifact.filename!r}. "
                             f"Received {artifact.content_hash!r}.")
        _check_one_of("kind", artifact.kind, KINDS)
        _check_one_of("time_source", time_source, TIME_SOURCES)
        _check_one_of("status", status, ADDED_STATUSES)
        if submitted_at.tzinfo is None:
            raise ValueError(f"Expected a timezone-aware datetime. Received submitted_at={submitted_at!r}.")
        self.ensure_student(student_id)
        existing = self._find_submission(student_id, assignment, artifact.content_hash)
        if existing is not None:
            return existing, False
        try:
            with self._session.begin() as session:
                submission = Submission(
                    student_id=student_id, assignment=assignment, filename=artifact.filename, kind=artifact.kind,
                    content=artifact.content, content_hash=artifact.content_hash, size_bytes=len(artifact.content),
                    submitted_at=submitted_at, time_source=time_source, status=status)
                session.add(submission)
                session.flush()
                return submission.id, True
        except IntegrityError:
            # The same bytes arrived twice at once; the other insert won.
            existing = self._find_submission(student_id, assignment, artifact.content_hash)
            if existing is None:
                raise
            return existing, False

    def submission(self, submission_id: int) -> SubmissionRow:
        """The submission (without its bytes) and its current grading; LookupError if there is none."""
        with self._session.begin() as session:
            rows = self._submission_rows(session, Submission.id == submission_id)
        if not rows:
            self._missing(submission_id)
        return rows[0]

    def content(self, submission_id: int) -> bytes:
        """The submission's stored bytes."""
        with self._session.begin() as session:
            content = session.scalar(select(Submission.content).where(Submission.id == submission_id))
        if content is None:
            self._missing(submission_id)
        return content

    def submissions(self, student_id: str | None = None, assignment: str | None = None) -> list[SubmissionRow]:
        """The matching submissions in arrival order (submitted_at, then id)."""
        conditions = []
        if student_id is not None:
            conditions.append(Submission.student_id == student_id)
        if assignment is not None:
            conditions.append(Submission.assignment == assignment)
        with self._session.begin() as session:
            return self._submission_rows(session, *conditions)

    def recent_submissions(self, student_id: str, assignment: str, since: datetime) -> int:
        """How many submissions the student made for the assignment at or after `since` (an aware datetime)."""
        with self._session.begin() as session:
            return session.scalar(select(func.count()).select_from(Submission).where(
                Submission.student_id == student_id, Submission.assignment == assignment,
                Submission.submitted_at >= since))

    def find_graded(self, student_id: str, assignment: str, content_hash: str, grader_version: str) -> int | None:
        """The submission of this content that is done, its current grading by this grader version, if any."""
        with self._session.begin() as session:
            return session.scalar(
                select(Submission.id).join(Grading, Grading.id == Submission.current_grading_id).where(
                    Submission.student_id == student_id, Submission.assignment == assignment,
                    Submission.content_hash == content_hash, Submission.status == "done",
                    Grading.grader_version == grader_version))

    def finished(self, assignment: str | None = None) -> list[SubmissionRow]:
        """Every submission (of `assignment`, if given) that has a current grading, done or error,
        including those queued for a regrade meanwhile; ordered by assignment, student, arrival.
        Which of a student's submissions counts is the course's decision (grader.course.final)."""
        conditions = [Submission.current_grading_id.is_not(None)]
        if assignment is not None:
            conditions.append(Submission.assignment == assignment)
        with self._session.begin() as session:
            return self._submission_rows(session, *conditions, order_by=(Submission.assignment, Submission.student_id))

    # --- the queue ---

    def claim_next(self, worker_id: str, lease_seconds: float, max_attempts: int = 3) -> Job | None:
        """Takes the oldest submission that is queued, or grading under a lease that has expired.

        The submission becomes "grading", claimed by `worker_id` for `lease_seconds`, its attempts
        counted up; it is returned with its bytes. None when nothing is waiting.
        An expired claim that already had `max_attempts` attempts is not handed out again: the
        grader keeps crashing on it, so it becomes a grader error for the staff to look at.
        Safe with any number of workers in any number of processes: each submission goes to one.
        """
        _check_positive("lease_seconds", lease_seconds)
        _check_positive("max_attempts", max_attempts)
        with self._write_locked() as session:
            while True:
                now = utcnow()
                submission = session.scalars(
                    select(Submission)
                    .where(or_(Submission.status == "queued",
                               and_(Submission.status == "grading", Submission.lease_expires_at < now)))
                    .order_by(Submission.submitted_at, Submission.id)
                    .limit(1)
                    .options(defer(Submission.content))
                    .with_for_update(skip_locked=True)  # PostgreSQL; SQLite holds its write lock already
                ).first()
                if submission is None:
                    return None
                if submission.attempts >= max_attempts:  # queued so: a counted release (see release)
                    why = (f"the lease of the last worker ({submission.claimed_by}) ran out at "
                           f"{submission.lease_expires_at} without a result, so that worker probably crashed or was "
                           "killed (out of memory?)" if submission.status == "grading" else
                           "the last one was handed back because the machine running it was lost")
                    _add_error_grading(
                        session, submission,
                        f"The grader failed {submission.attempts} times on this submission; "
                        "the course staff will look at it.",
                        f"Gave up after {submission.attempts} attempts: {why}.", worker_id=None)
                    continue
                submission.status = "grading"
                submission.claimed_by = worker_id
                submission.lease_expires_at = now + timedelta(seconds=lease_seconds)
                submission.attempts += 1
                session.flush()
                return self._job(session, submission)

    def claim(self, submission_id: int, worker_id: str, lease_seconds: float) -> Job:
        """Claims this submission for `worker_id` whatever its status, as `claim_next` claims the next
        one (grading, leased, one more attempt): for `grade` and `grade-all`, which grade what the
        instructor names. A worker grading it now loses its claim and will not record its result;
        if this grader dies, a worker takes the submission over once the lease runs out."""
        _check_positive("lease_seconds", lease_seconds)
        with self._write_locked() as session:
            submission = self._get(session, submission_id, lock=True)
            submission.status = "grading"
            submission.claimed_by = worker_id
            submission.attempts += 1
            submission.lease_expires_at = utcnow() + timedelta(seconds=lease_seconds)
            session.flush()
            return self._job(session, submission)

    def renew_lease(self, submission_id: int, worker_id: str, lease_seconds: float) -> bool:
        """Extends the worker's claim by `lease_seconds` from now; False if the claim is no longer its own
        (the lease ran out and another worker took over, or the submission was requeued)."""
        with self.engine.begin() as connection:
            renewed = connection.execute(
                update(Submission)
                .where(Submission.id == submission_id, Submission.claimed_by == worker_id,
                       Submission.status == "grading")
                .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds)))
            return renewed.rowcount == 1

    def release(self, submission_id: int, worker_id: str | None = None, *, counted: bool = False) -> bool:
        """Hands a claimed submission back to the queue uncounted (a worker stopping cleanly);
        with `worker_id`, only if that worker holds the claim. False if there was nothing to release.

        `counted`: the attempt still counts (the cluster node grading it died): once a submission
        has had max_attempts, claim_next makes it a grader error instead of handing it out again,
        so one that takes machines down is not retried on every node in turn.
        """
        query = update(Submission).where(Submission.id == submission_id, Submission.status == "grading")
        if worker_id is not None:
            query = query.where(Submission.claimed_by == worker_id)
        attempts = (Submission.attempts if counted
                    else case((Submission.attempts > 0, Submission.attempts - 1), else_=0))
        with self.engine.begin() as connection:
            released = connection.execute(query.values(status="queued", attempts=attempts, **_UNCLAIMED))
            return released.rowcount == 1

    def requeue(self, submission_id: int) -> None:
        """Queues the submission for grading again with a fresh count of attempts (an instructor's
        regrade); students see its current grading until the new one is recorded."""
        if not self._requeue(Submission.id == submission_id):
            self._missing(submission_id)

    def requeue_matching(self, *, student_id: str | None = None, assignment: str | None = None) -> list[int]:
        """Queues every submission of the student and/or assignment given (every one, given neither)
        for grading again, as `requeue` does; returns their ids in arrival order."""
        conditions = []
        if student_id is not None:
            conditions.append(Submission.student_id == student_id)
        if assignment is not None:
            conditions.append(Submission.assignment == assignment)
        return self._requeue(*conditions)

    def _requeue(self, *conditions) -> list[int]:
        # A worker still grading one of these loses its claim, so its (outdated) result is not recorded.
        with self._write_locked() as session:
            ids = list(session.scalars(select(Submission.id).where(*conditions)
                                       .order_by(Submission.submitted_at, Submission.id)))
            if ids:
                session.execute(update(Submission).where(Submission.id.in_(ids)).values(
                    status="queued", attempts=0, **_UNCLAIMED))
            return ids

    # --- grading ---

    def record_report(self, submission_id: int, report: GradingReport, worker_id: str | None = None) -> int | None:
        """Stores a grading, with its check rows, as a new grading that becomes current; returns its id.

        With `worker_id`, only while that worker still holds the claim: None when it lost it.
        """
        names = [check.name for check in report.checks]
        if len(set(names)) != len(names):
            raise ValueError(f"Expected unique check names in the report. Received {names}.")
        with self._write_locked() as session:
            submission = self._get(session, submission_id, lock=worker_id is not None)
            if worker_id is not None and submission.claimed_by != worker_id:
                return None
            if report.assignment and report.assignment != submission.assignment:
                raise ValueError(f"Expected a report for {submission.assignment!r} (submission {submission_id}). "
                                 f"Received one for {report.assignment!r}.")
            grading = Grading(
                submission_id=submission_id, grader_version=report.grader_version, graded_at=utcnow(),
                status="done", score=report.score, max_score=report.max_score,
                execution_seconds=report.execution_seconds, device=report.device, notes=list(report.notes),
                instructor_log=report.instructor_log, worker_id=worker_id,
                figures=None if report.figures is None else report.figures.to_json())
            session.add(grading)
            session.flush()
            session.add_all(
                CheckRow(grading_id=grading.id, position=position, check_name=check.name, points=check.points,
                         max_points=check.max_points, status=check.status, message=check.message,
                         hidden=check.hidden, measures=None if check.measures is None else dict(check.measures))
                for position, check in enumerate(report.checks))
            _make_current(submission, grading)
            session.flush()
            return grading.id

    def record_report_or_error(self, submission_id: int, report: GradingReport,
                               worker_id: str | None = None) -> int | None:
        """record_report, tried twice; when the report cannot be stored (a database error, a value
        the database refuses), an error grading is recorded at once instead of the submission staying
        "grading" until its lease runs out. Returns the id of the grading recorded (the report's, or
        else the error's: its status says which), None when the worker lost its claim."""
        for attempt in range(RECORD_ATTEMPTS):
            try:
                return self.record_report(submission_id, report, worker_id=worker_id)
            except (SQLAlchemyError, ValueError, TypeError, UnicodeError) as error:
                failure = error
                log.warning("storing the grading of submission %s failed (attempt %d): %s",
                            submission_id, attempt + 1, error)
        return self.record_error(
            submission_id, "The grader could not store the result of this grading; the course staff will look at it.",
            f"record_report failed {RECORD_ATTEMPTS} times: {type(failure).__name__}: {failure}\n\n"
            f"{report.instructor_log[-20_000:]}", worker_id=worker_id)

    def record_error(self, submission_id: int, message: str, instructor_log: str,
                     worker_id: str | None = None) -> int | None:
        """The grader failed on this submission: a grading with status "error" and no score (which
        is not a zero) becomes current; `message` is its note for the student. Returns its id.

        With `worker_id`, only while that worker still holds the claim: None when it lost it.
        """
        with self._write_locked() as session:
            submission = self._get(session, submission_id, lock=worker_id is not None)
            if worker_id is not None and submission.claimed_by != worker_id:
                return None
            return _add_error_grading(session, submission, message, instructor_log, worker_id=worker_id)

    # --- history ---

    def gradings(self, submission_id: int) -> list[GradingRow]:
        """Every grading of the submission, oldest first."""
        with self._session.begin() as session:
            current = self._get(session, submission_id).current_grading_id
            rows = session.scalars(select(Grading).where(Grading.submission_id == submission_id)
                                   .order_by(Grading.id))
            return [_grading_row(grading, current) for grading in rows]

    def check_results(self, submission_id: int, grading_id: int | None = None) -> list[CheckResult]:
        """The checks of one grading of the submission in assignment order, measures included; by
        default those of the current grading ([] when there is none, or it was a grader error)."""
        with self._session.begin() as session:
            submission = self._get(session, submission_id)
            if grading_id is None:
                grading_id = submission.current_grading_id
                if grading_id is None:
                    return []
            else:
                self._grading_of(session, submission_id, grading_id)
            rows = session.scalars(select(CheckRow).where(CheckRow.grading_id == grading_id)
                                   .order_by(CheckRow.position))
            return [CheckResult(row.check_name, row.points, row.max_points, row.status, row.message, row.hidden,
                                row.measures) for row in rows]

    def figures(self, submission_id: int, grading_id: int | None = None) -> Figures | None:
        """What the feedback report of one grading of the submission draws, by default of its current
        grading; None when there is none (a grader error, or a grading from before reports)."""
        with self._session.begin() as session:
            if grading_id is None:
                grading_id = self._get(session, submission_id).current_grading_id
                if grading_id is None:
                    return None
            stored = self._grading_of(session, submission_id, grading_id).figures
        if stored is None:
            return None
        try:
            return Figures.from_json(stored)
        except (ValueError, TypeError, KeyError) as error:
            # Written by this code, so unreadable means damaged or written by a later version: a
            # report without pictures, not a failed page.
            log.error("the figures of grading %s cannot be read: %s", grading_id, error)
            return None

    def revert(self, submission_id: int, grading_id: int) -> None:
        """Makes an earlier grading of the submission current again (what students see). A pending
        regrade of it is cancelled: a worker grading it now loses its claim and records nothing."""
        with self._write_locked() as session:
            submission = self._get(session, submission_id, lock=True)
            _make_current(submission, self._grading_of(session, submission_id, grading_id))
            submission.attempts = 0

    # --- extensions ---

    def set_extension(self, student_id: str, assignment: str, until: datetime) -> None:
        """Gives the student `until` (aware) as their due date for the assignment, replacing any earlier one."""
        if until.tzinfo is None:
            raise ValueError(f"Expected a timezone-aware datetime. Received until={until!r}.")
        with self._write_locked() as session:
            if session.get(Student, student_id) is None:
                raise LookupError(f"No student {student_id!r} in the gradebook at {self.engine.url!r}: "
                                  "check the id, or import the roster first.")
            extension = session.get(Extension, (student_id, assignment))
            if extension is None:
                session.add(Extension(student_id=student_id, assignment=assignment, until=until,
                                      granted_at=utcnow()))
            else:
                extension.until = until
                extension.granted_at = utcnow()

    def remove_extension(self, student_id: str, assignment: str) -> bool:
        """Removes the student's extension for the assignment; False if there was none."""
        with self.engine.begin() as connection:
            return connection.execute(delete(Extension).where(
                Extension.student_id == student_id, Extension.assignment == assignment)).rowcount == 1

    def extensions(self) -> list[ExtensionRow]:
        """Every extension, ordered by student, then assignment."""
        with self._session.begin() as session:
            return [ExtensionRow(e.student_id, e.assignment, e.until, e.granted_at) for e in session.scalars(
                select(Extension).order_by(Extension.student_id, Extension.assignment))]

    # --- helpers ---

    def _get(self, session: Session, submission_id: int, lock: bool = False) -> Submission:
        submission = session.get(Submission, submission_id, with_for_update=lock or None,
                                 options=[defer(Submission.content)])
        if submission is None:
            self._missing(submission_id)
        return submission

    def _missing(self, submission_id: int) -> NoReturn:
        raise LookupError(f"No submission with id {submission_id} in the gradebook at {self.engine.url!r}.")

    def _grading_of(self, session: Session, submission_id: int, grading_id: int) -> Grading:
        grading = session.get(Grading, grading_id)
        if grading is None:
            raise LookupError(f"No grading with id {grading_id} in the gradebook at {self.engine.url!r}.")
        if grading.submission_id != submission_id:
            raise ValueError(f"Expected a grading of submission {submission_id}. Received grading {grading_id}, "
                             f"which is of submission {grading.submission_id}.")
        return grading

    def _submission_rows(self, session: Session, *conditions, order_by=()) -> list[SubmissionRow]:
        query = (select(Submission, Grading)
                 .outerjoin(Grading, Grading.id == Submission.current_grading_id)
                 .where(*conditions)
                 .options(defer(Submission.content))
                 .order_by(*order_by, Submission.submitted_at, Submission.id))
        return [_submission_row(submission, grading) for submission, grading in session.execute(query)]

    def _job(self, session: Session, submission: Submission) -> Job:
        grading = None if submission.current_grading_id is None else session.get(Grading, submission.current_grading_id)
        content = session.scalar(select(Submission.content).where(Submission.id == submission.id))
        return Job(_submission_row(submission, grading), content)

    @contextmanager
    def _write_locked(self) -> Iterator[Session]:
        """A transaction that may read, decide and write without another process writing in between."""
        with self._session() as session, session.begin():
            if self.is_sqlite:
                # pysqlite would begin only at the first write, after the reads the decision rests on;
                # BEGIN IMMEDIATE takes the database's write lock first (waiting up to the busy timeout).
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session

    def _check_up_to_date(self) -> None:
        with self.engine.connect() as connection:
            revision = migrate.revision_of(connection)
            made = revision is not None or inspect(connection).has_table("submissions")
        if not made:
            raise RuntimeError(f"{self.engine.url!r} has no gradebook yet: a grader creates it on its first grading.")
        if revision != migrate.head():
            state = f"at schema revision {revision}" if revision else "made before versioned migrations"
            raise RuntimeError(f"The gradebook at {self.engine.url!r} is {state}; this code reads revision "
                               f"{migrate.head()}. Open it once with a grader or worker (not read-only) to upgrade it.")

    def _find_submission(self, student_id: str, assignment: str, content_hash: str) -> int | None:
        with self._session.begin() as session:
            return session.scalar(select(Submission.id).where(
                Submission.student_id == student_id, Submission.assignment == assignment,
                Submission.content_hash == content_hash))

    def _free_pseudonym(self, session: Session, student_id: str) -> str:
        # Collisions are rare (160,000 names) but certain in a large enough course: try the next one.
        # A pseudonym that spells out the id (a student called "otter") would give the student away.
        for attempt in range(1000):
            name = pseudonym(student_id, self._pseudonym_key, attempt)
            if student_id.lower() not in name and session.scalar(
                    select(Student.id).where(Student.pseudonym == name)) is None:
                return name
        raise RuntimeError(f"No free pseudonym for {student_id!r} after 1000 tries.")

    def _setting(self, name: str, default: str) -> str:
        """The stored setting, storing `default` first if there is none (once, even with racing processes)."""
        try:
            with self._session.begin() as session:
                if session.get(Setting, name) is None:
                    session.add(Setting(name=name, value=default))
        except IntegrityError:
            pass
        with self._session.begin() as session:
            return session.get(Setting, name).value


def _student_row(student: Student) -> StudentRow:
    return StudentRow(student.id, student.display_name, student.pseudonym, student.created_at,
                      student.token_hash is not None)


def _grading_row(grading: Grading, current_id: int | None) -> GradingRow:
    return GradingRow(
        id=grading.id, submission_id=grading.submission_id, grader_version=grading.grader_version,
        graded_at=grading.graded_at, status=grading.status, score=grading.score, max_score=grading.max_score,
        execution_seconds=grading.execution_seconds, device=grading.device, notes=tuple(grading.notes or ()),
        instructor_log=grading.instructor_log, worker_id=grading.worker_id, is_current=grading.id == current_id)


def _submission_row(submission: Submission, grading: Grading | None) -> SubmissionRow:
    return SubmissionRow(
        id=submission.id, student_id=submission.student_id, assignment=submission.assignment,
        filename=submission.filename, kind=submission.kind, content_hash=submission.content_hash,
        size_bytes=submission.size_bytes, submitted_at=submission.submitted_at, time_source=submission.time_source,
        status=submission.status, attempts=submission.attempts, claimed_by=submission.claimed_by,
        lease_expires_at=submission.lease_expires_at,
        grading=None if grading is None else _grading_row(grading, submission.current_grading_id))


def _make_current(submission: Submission, grading: Grading) -> None:
    submission.current_grading_id = grading.id
    submission.status = grading.status
    submission.claimed_by = submission.lease_expires_at = None


def _add_error_grading(session: Session, submission: Submission, message: str, instructor_log: str,
                       worker_id: str | None) -> int:
    grading = Grading(submission_id=submission.id, grader_version=None, graded_at=utcnow(), status="error",
                      notes=[message], instructor_log=instructor_log, worker_id=worker_id)
    session.add(grading)
    session.flush()
    _make_current(submission, grading)
    session.flush()
    return grading.id


def _check_one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"Expected {name} in {allowed}. Received {name}={value!r}.")


def _check_positive(name: str, value: float) -> None:
    if value <= 0:
        raise ValueError(f"Expected a strictly positive value. Received {name}={value}.")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _configure_sqlite(dbapi_connection, connection_record) -> None:
    # WAL lets the site read while a grader writes; the busy timeout makes parallel graders
    # wait for each other instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _configure_sqlite_reader(dbapi_connection, connection_record) -> None:
    # Setting the journal mode is a write; the writers keep the file in WAL mode. A reader still
    # waits out the moments a WAL reader must (a checkpoint, recovery after a crash).
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _read_only_url(url: URL) -> URL:
    """The same database, opened so that the database itself refuses every write."""
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            raise ValueError(f"Expected the URL of a SQLite file, sqlite:///PATH. Received {url.render_as_string()!r}.")
        path = Path(url.database).resolve()
        if not path.is_file():
            # mode=ro cannot create it, and sqlite3's own message ("unable to open database file") says less.
            raise FileNotFoundError(f"No gradebook at {path}: a grader creates it on its first grading.")
        # A URI filename: mode=ro opens the file read-only. In WAL mode the reader still needs the
        # -shm file, which SQLite creates beside the database if no writer has it open.
        return url.set(database=f"file:{quote(str(path))}", query={"mode": "ro", "uri": "true"})
    if url.get_backend_name() == "postgresql":
        # Appended to any options already in the URL (a search_path, say) rather than replacing them.
        given = url.query.get("options", ())
        options = [given] if isinstance(given, str) else list(given)
        return url.update_query_dict({"options": " ".join([*options, "-c default_transaction_read_only=on"])})
    raise ValueError(f"Expected a SQLite or PostgreSQL URL for a read-only gradebook. Received {url.drivername!r}.")
