"""The gradebook: students, submissions and check results behind one SQLAlchemy URL."""

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
from urllib.parse import quote

from sqlalchemy import Engine, and_, case, create_engine, delete, event, func, inspect, or_, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError
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

log = logging.getLogger(__name__)

RECORD_ATTEMPTS = 2
"""How many times a grading is offered to the database before the submission becomes a grader error."""

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

TOKEN_BYTES = 16
"""Randomness of an upload token (secrets.token_urlsafe), 22 characters once encoded."""

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_SUBMISSION_FIELDS = [column for column in Submission.__table__.columns if column.name != "content"]
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
        """With `read_only` (the site), the gradebook must exist already; every write through it
        raises an error of the database (SQLAlchemy's DBAPIError), and it creates nothing."""
        self.url = url
        self.read_only = read_only
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if read_only:
            parsed = _read_only_url(parsed)
        elif self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(parsed, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _configure_sqlite_reader if read_only else _configure_sqlite)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        if read_only:
            self._pseudonym_key = b""  # never used for a name: a reader cannot add a student
            return
        Base.metadata.create_all(self.engine)
        self._add_missing_columns()
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

    def students(self) -> list[dict]:
        """Every student: id, display_name, pseudonym, created_at, has_token; ordered by id."""
        with self._session.begin() as session:
            rows = session.scalars(select(Student).order_by(Student.id))
            return [{"id": s.id, "display_name": s.display_name, "pseudonym": s.pseudonym,
                     "created_at": s.created_at, "has_token": s.token_hash is not None} for s in rows]

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

    def queue_submission(self, student_id: str, assignment: str, filename: str, content: bytes) -> tuple[int, bool]:
        """Queues the bytes for a worker: (submission id, created). Bytes this student already submitted
        for this assignment give the existing id and created False, and are not queued again."""
        return self.add_submission(student_id, assignment, filename, content, hashlib.sha256(content).hexdigest(),
                                   status="queued")

    def recent_submissions(self, student_id: str, assignment: str, since: datetime) -> int:
        """How many submissions the student made for the assignment at or after `since` (an aware datetime)."""
        with self._session.begin() as session:
            return session.scalar(select(func.count()).select_from(Submission).where(
                Submission.student_id == student_id, Submission.assignment == assignment,
                Submission.submitted_at >= since))

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
            return _as_dict(self._get(session, submission_id))

    def submissions(self, student_id: str | None = None, assignment: str | None = None) -> list[dict]:
        """The matching submissions in arrival order, without their content."""
        query = select(*_SUBMISSION_FIELDS).order_by(Submission.submitted_at, Submission.id)
        if student_id is not None:
            query = query.where(Submission.student_id == student_id)
        if assignment is not None:
            query = query.where(Submission.assignment == assignment)
        with self._session.begin() as session:
            return [dict(row._mapping) for row in session.execute(query)]

    # --- the queue ---

    def claim_next(self, worker_id: str, lease_seconds: float, max_attempts: int = 3) -> dict | None:
        """Takes the oldest submission that is queued, or grading under a lease that has expired.

        The submission becomes "grading", claimed by `worker_id` for `lease_seconds`, its attempts
        counted up; it is returned with every column, content included. None when nothing is waiting.
        An expired claim that already had `max_attempts` attempts is not handed out again: the
        grader keeps crashing on it, so it becomes a grader error for the staff to look at.
        Safe with any number of workers in any number of processes: each submission goes to one.
        """
        if lease_seconds <= 0:
            raise ValueError(f"Expected a strictly positive value. Received lease_seconds={lease_seconds}.")
        if max_attempts < 1:
            raise ValueError(f"Expected a strictly positive value. Received max_attempts={max_attempts}.")
        with self._write_locked() as session:
            while True:
                now = utcnow()
                submission = session.scalars(
                    select(Submission)
                    .where(or_(Submission.status == "queued",
                               and_(Submission.status == "grading", Submission.lease_expires_at < now)))
                    .order_by(Submission.submitted_at, Submission.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)  # PostgreSQL; SQLite holds its write lock already
                ).first()
                if submission is None:
                    return None
                if submission.status == "grading" and submission.attempts >= max_attempts:
                    _mark_error(submission,
                                f"The grader failed {submission.attempts} times on this submission; "
                                "the course staff will look at it.",
                                f"Gave up after {submission.attempts} attempts: the lease of the last worker "
                                f"({submission.claimed_by}) ran out at {submission.lease_expires_at} without a "
                                "result, so that worker probably crashed or was killed (out of memory?).")
                    session.flush()
                    continue
                submission.status = "grading"
                submission.claimed_by = worker_id
                submission.lease_expires_at = now + timedelta(seconds=lease_seconds)
                submission.attempts += 1
                session.flush()
                return _as_dict(submission)

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

    def claim(self, submission_id: int, worker_id: str, lease_seconds: float) -> None:
        """Claims this submission for `worker_id` whatever its status, as `claim_next` claims the next
        one (grading, leased, one more attempt): for `grade` and `grade-all`, which grade what the
        instructor names. A worker grading it now loses its claim and will not record its result;
        if this grader dies, a worker takes the submission over once the lease runs out."""
        if lease_seconds <= 0:
            raise ValueError(f"Expected a strictly positive value. Received lease_seconds={lease_seconds}.")
        with self.engine.begin() as connection:
            claimed = connection.execute(update(Submission).where(Submission.id == submission_id).values(
                status="grading", claimed_by=worker_id, attempts=Submission.attempts + 1,
                lease_expires_at=utcnow() + timedelta(seconds=lease_seconds)))
        if claimed.rowcount != 1:
            raise LookupError(f"No submission with id {submission_id} in the gradebook at {self.engine.url!r}.")

    def release(self, submission_id: int, worker_id: str | None = None) -> bool:
        """Hands a claimed submission back to the queue uncounted (a worker stopping cleanly);
        with `worker_id`, only if that worker holds the claim. False if there was nothing to release."""
        query = update(Submission).where(Submission.id == submission_id, Submission.status == "grading")
        if worker_id is not None:
            query = query.where(Submission.claimed_by == worker_id)
        with self.engine.begin() as connection:
            released = connection.execute(query.values(
                status="queued", attempts=case((Submission.attempts > 0, Submission.attempts - 1), else_=0),
                **_UNCLAIMED))
            return released.rowcount == 1

    def requeue(self, submission_id: int) -> None:
        """Queues the submission for grading again with a fresh count of attempts (an instructor's regrade)."""
        if self._requeue(Submission.id == submission_id) == 0:
            raise LookupError(f"No submission with id {submission_id} in the gradebook at {self.engine.url!r}.")

    def requeue_all(self, assignment: str | None = None) -> int:
        """Queues every submission (of `assignment`, if given) for grading again; returns how many."""
        return self._requeue(*([] if assignment is None else [Submission.assignment == assignment]))

    def _requeue(self, *conditions) -> int:
        # A worker still grading one of these loses its claim, so its (outdated) result is not recorded.
        with self.engine.begin() as connection:
            return connection.execute(update(Submission).where(*conditions).values(
                status="queued", attempts=0, **_UNCLAIMED)).rowcount

    # --- grading ---

    def record_report(self, submission_id: int, report: GradingReport, worker_id: str | None = None) -> bool:
        """Stores a grading: its check rows (replacing those of the same grader version) and its score.

        With `worker_id`, only while that worker still holds the claim; returns whether it was stored.
        """
        names = [check.name for check in report.checks]
        if len(set(names)) != len(names):
            raise ValueError(f"Expected unique check names in the report. Received {names}.")
        with self._session.begin() as session:
            submission = self._get(session, submission_id, lock=worker_id is not None)
            if worker_id is not None and submission.claimed_by != worker_id:
                return False
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
            submission.claimed_by = submission.lease_expires_at = None
            return True

    def record_report_or_error(self, submission_id: int, report: GradingReport, worker_id: str | None = None) -> bool:
        """record_report, tried twice; when the report cannot be stored (a database error, a value
        the database refuses), the submission becomes a grader error at once instead of staying
        "grading" until its lease runs out. Returns whether the report was stored."""
        for attempt in range(RECORD_ATTEMPTS):
            try:
                return self.record_report(submission_id, report, worker_id=worker_id)
            except (SQLAlchemyError, ValueError, UnicodeError) as error:
                failure = error
                log.warning("storing the grading of submission %s failed (attempt %d): %s",
                            submission_id, attempt + 1, error)
        self.record_error(submission_id, "The grader could not store the result of this grading; the course "
                          "staff will look at it.", f"record_report failed {RECORD_ATTEMPTS} times: "
                          f"{type(failure).__name__}: {failure}\n\n{report.instructor_log[-20_000:]}",
                          worker_id=worker_id)
        return False

    def record_error(self, submission_id: int, message: str, instructor_log: str, worker_id: str | None = None) -> bool:
        """The grader failed on this submission: status "error" and no score, which is not a zero.

        With `worker_id`, only while that worker still holds the claim; returns whether it was stored.
        """
        with self._session.begin() as session:
            submission = self._get(session, submission_id, lock=worker_id is not None)
            if worker_id is not None and submission.claimed_by != worker_id:
                return False
            _mark_error(submission, message, instructor_log)
            return True

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

    def _get(self, session: Session, submission_id: int, lock: bool = False) -> Submission:
        submission = session.get(Submission, submission_id, with_for_update=lock or None)
        if submission is None:
            raise LookupError(f"No submission with id {submission_id} in the gradebook at {self.engine.url!r}.")
        return submission

    @contextmanager
    def _write_locked(self) -> Iterator[Session]:
        """A transaction that may read, decide and write without another process writing in between."""
        with self._session() as session, session.begin():
            if self.is_sqlite:
                # pysqlite would begin only at the first write, after the reads the decision rests on;
                # BEGIN IMMEDIATE takes the database's write lock first (waiting up to the busy timeout).
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session

    def _add_missing_columns(self) -> None:
        """Adds the columns a newer schema introduced to a gradebook created before them."""
        for table in Base.metadata.sorted_tables:
            present = {column["name"] for column in inspect(self.engine).get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                ddl = f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type.compile(self.engine.dialect)}"
                if column.server_default is not None:
                    ddl += f" NOT NULL DEFAULT {column.server_default.arg}"
                try:
                    with self.engine.begin() as connection:
                        connection.exec_driver_sql(ddl)
                except (OperationalError, ProgrammingError):
                    # Another process opening the same old gradebook added it first.
                    if column.name not in {c["name"] for c in inspect(self.engine).get_columns(table.name)}:
                        raise

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


def _as_dict(submission: Submission) -> dict:
    return {column.name: getattr(submission, column.key) for column in Submission.__table__.columns}


def _mark_error(submission: Submission, message: str, instructor_log: str) -> None:
    submission.status = "error"
    submission.score = submission.max_score = submission.grader_version = None
    submission.claimed_by = submission.lease_expires_at = None
    submission.graded_at = utcnow()
    submission.notes = [message]
    submission.instructor_log = instructor_log


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
