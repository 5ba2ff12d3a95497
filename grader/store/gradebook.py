"""The gradebook: students, submissions and check results behind one SQLAlchemy URL."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from grader.results import CheckResult, GradingReport
from grader.store.schema import (
    SUBMISSION_STATUSES,
    Base,
    CheckRow,
    Setting,
    Student,
    Submission,
    utcnow,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another (parallel graders, the site) before failing."""

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

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_SUBMISSION_FIELDS = [column for column in Submission.__table__.columns if column.name != "content"]


def pseudonym(student_id: str, key: bytes, attempt: int = 0) -> str:
    """adjective-animal-NN from a keyed hash of the id: stable, but not computable from the id alone."""
    digest = hmac.new(key, f"{attempt}:{student_id}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    number, adjective = divmod(number, len(ADJECTIVES))
    number, animal = divmod(number, len(ANIMALS))
    return f"{ADJECTIVES[adjective]}-{ANIMALS[animal]}-{number % 100:02d}"


class Gradebook:
    """Where grading results are kept, on SQLite (one file) or PostgreSQL (a shared server)."""

    def __init__(self, url: str):
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _configure_sqlite)
        Base.metadata.create_all(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self._pseudonym_key = self._setting("pseudonym_key", secrets.token_hex(32)).encode()

    @classmethod
    def from_config(cls, config) -> "Gradebook":
        """The gradebook at `config.db_url`."""
        return cls(config.db_url)

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

    def students(self) -> list[dict]:
        """Every student: id, display_name, pseudonym, created_at; ordered by id."""
        with self._session.begin() as session:
            rows = session.scalars(select(Student).order_by(Student.id))
            return [{"id": s.id, "display_name": s.display_name, "pseudonym": s.pseudonym,
                     "created_at": s.created_at} for s in rows]

    # --- submissions ---

    def add_submission(self, student_id: str, assignment: str, filename: str, content: bytes,
                       content_hash: str, status: str = "queued") -> tuple[int, bool]:
        """(submission id, created); created is False when this content was already submitted."""
        if not _SHA256_HEX.fullmatch(content_hash):
            raise ValueError(f"Expected content_hash as 64 lowercase hex digits (sha256). Received {content_hash!r}.")
        _check_status(status)
        self.ensure_student(student_id)
        existing = self._find_submission(student_id, assignment, content_hash)
        if existing is not None:
            return existing, False
        try:
            with self._session.begin() as session:
                submission = Submission(student_id=student_id, assignment=assignment, filename=filename,
                                        content=content, content_hash=content_hash, status=status)
                session.add(submission)
                session.flush()
                return submission.id, True
        except IntegrityError:
            # The same bytes arrived twice at once; the other insert won.
            existing = self._find_submission(student_id, assignment, content_hash)
            if existing is None:
                raise
            return existing, False

    def find_graded(self, student_id: str, assignment: str, content_hash: str, grader_version: str) -> int | None:
        """The submission of this content whose latest grading is done with this grader version, if any."""
        with self._session.begin() as session:
            return session.scalar(select(Submission.id).where(
                Submission.student_id == student_id, Submission.assignment == assignment,
                Submission.content_hash == content_hash, Submission.grader_version == grader_version,
                Submission.status == "done"))

    def set_status(self, submission_id: int, status: str) -> None:
        _check_status(status)
        with self._session.begin() as session:
            self._get(session, submission_id).status = status

    def submission(self, submission_id: int) -> dict:
        """Every column of the submission, content included."""
        with self._session.begin() as session:
            row = self._get(session, submission_id)
            return {column.name: getattr(row, column.key) for column in Submission.__table__.columns}

    def submissions(self, student_id: str | None = None, assignment: str | None = None) -> list[dict]:
        """The matching submissions in arrival order, without their content."""
        query = select(*_SUBMISSION_FIELDS).order_by(Submission.submitted_at, Submission.id)
        if student_id is not None:
            query = query.where(Submission.student_id == student_id)
        if assignment is not None:
            query = query.where(Submission.assignment == assignment)
        with self._session.begin() as session:
            return [dict(row._mapping) for row in session.execute(query)]

    # --- grading ---

    def record_report(self, submission_id: int, report: GradingReport) -> None:
        """Stores a grading: its check rows (replacing those of the same grader version) and its score."""
        names = [check.name for check in report.checks]
        if len(set(names)) != len(names):
            raise ValueError(f"Expected unique check names in the report. Received {names}.")
        with self._session.begin() as session:
            submission = self._get(session, submission_id)
            if report.assignment and report.assignment != submission.assignment:
                raise ValueError(f"Expected a report for {submission.assignment!r} (submission {submission_id}). "
                                 f"Received one for {report.assignment!r}.")
            session.execute(delete(CheckRow).where(CheckRow.submission_id == submission_id,
                                                   CheckRow.grader_version == report.grader_version))
            session.add_all(
                CheckRow(submission_id=submission_id, grader_version=report.grader_version, check_name=check.name,
                         points=check.points, max_points=check.max_points, status=check.status,
                         message=check.message, hidden=check.hidden, position=position)
                for position, check in enumerate(report.checks))
            submission.status = "done"
            submission.score = report.score
            submission.max_score = report.max_score
            submission.grader_version = report.grader_version
            submission.graded_at = utcnow()
            submission.execution_seconds = report.execution_seconds
            submission.device = report.device
            submission.notes = list(report.notes)
            submission.instructor_log = report.instructor_log

    def record_error(self, submission_id: int, message: str, instructor_log: str) -> None:
        """The grader failed on this submission: status "error" and no score, which is not a zero."""
        with self._session.begin() as session:
            submission = self._get(session, submission_id)
            submission.status = "error"
            submission.score = submission.max_score = submission.grader_version = None
            submission.graded_at = utcnow()
            submission.notes = [message]
            submission.instructor_log = instructor_log

    def check_results(self, submission_id: int, grader_version: str | None = None) -> list[CheckResult]:
        """The checks of one grading in assignment order; by default the grading the score comes from."""
        with self._session.begin() as session:
            if grader_version is None:
                grader_version = self._get(session, submission_id).grader_version
            rows = session.scalars(select(CheckRow).where(
                CheckRow.submission_id == submission_id, CheckRow.grader_version == grader_version,
            ).order_by(CheckRow.position))
            return [CheckResult(row.check_name, row.points, row.max_points, row.status, row.message, row.hidden)
                    for row in rows]

    def latest_results(self, assignment: str | None = None) -> list[dict]:
        """Per (student, assignment), the newest submission the grader finished (done or error).

        Keys: student_id, display_name, pseudonym, assignment, submission_id, score, max_score,
        graded_at, status. An error row has no score. Ordered by assignment, then student id.
        """
        newest_first = func.row_number().over(
            partition_by=(Submission.student_id, Submission.assignment),
            order_by=(Submission.submitted_at.desc(), Submission.id.desc()))
        finished = select(Submission.id, newest_first.label("rank")).where(
            Submission.status.in_(("done", "error")))
        if assignment is not None:
            finished = finished.where(Submission.assignment == assignment)
        finished = finished.subquery()
        query = (
            select(Submission.student_id, Student.display_name, Student.pseudonym, Submission.assignment,
                   Submission.id.label("submission_id"), Submission.score, Submission.max_score,
                   Submission.graded_at, Submission.status)
            .join(finished, finished.c.id == Submission.id)
            .join(Student, Student.id == Submission.student_id)
            .where(finished.c.rank == 1)
            .order_by(Submission.assignment, Submission.student_id))
        with self._session.begin() as session:
            return [dict(row._mapping) for row in session.execute(query)]

    # --- helpers ---

    def _get(self, session: Session, submission_id: int) -> Submission:
        submission = session.get(Submission, submission_id)
        if submission is None:
            raise LookupError(f"No submission with id {submission_id} in the gradebook at {self.engine.url!r}.")
        return submission

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


def _check_status(status: str) -> None:
    if status not in SUBMISSION_STATUSES:
        raise ValueError(f"Expected a status in {SUBMISSION_STATUSES}. Received status={status!r}.")


def _configure_sqlite(dbapi_connection, connection_record) -> None:
    # WAL lets the site read while a grader writes; the busy timeout makes parallel graders
    # wait for each other instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
