"""What the site's pages share: the gradebook, the course and cached queries, sign-in, upload rules, feedback."""

from __future__ import annotations

import hashlib
import hmac
import io
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from grader.assignment import Assignment, assignment_names, load_assignment
from grader.config import Config
from grader.course import (NO_COURSE, Course, FinalGrade, day_start, due_for, final_grades_of, local_text,
                           released, window_refusal)
from grader.course.current import course_of
from grader.export import export
from grader.feedback import MARKS
from grader.intake import IntakeError, from_upload
from grader.leaderboard import board_part
from grader.present import duration_text, plural, score_text
from grader.results import CheckResult
from grader.standings import AccuracyBoard, accuracy_boards
from grader.store import Gradebook
from grader.store.rows import ExtensionRow, StudentRow, SubmissionRow

PUBLIC_TTL_SECONDS = 30
"""How stale the scoreboard and analytics may be: they are read by many, changed by few."""
POLL_SECONDS = 2
"""How often a page showing a queued or grading submission asks the gradebook again."""
PENDING = ("queued", "grading")
NO_SUBMISSIONS = "No submissions yet: results appear here once the first submission is graded."
STUDENT_KEY = "student_id"
INSTRUCTOR_KEY = "instructor"
UTC_MINUTES = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
"""A timestamp column to the minute; the gradebook's times are UTC, and the column titles say so."""


# --- cached resources ---

@st.cache_resource
def load_config() -> Config:
    return Config.from_env()


@st.cache_resource
def load_gradebook() -> Gradebook:
    """For the site's few writes: queueing an upload, the instructor's regrades and roster."""
    return Gradebook.from_config(load_config())


@st.cache_resource
def load_reader() -> Gradebook:
    """Every page's reads: a read-only connection, so the worker stays the gradebook's writer
    and a page can never hold a write lock on SQLite."""
    load_gradebook()  # creates the tables of a new gradebook, which a read-only connection cannot
    return Gradebook.from_config(load_config(), read_only=True)


@st.cache_resource
def load_assignments() -> dict[str, Assignment]:
    """Every assignment by name, in the order `assignment_names` gives."""
    return {name: load_assignment(name) for name in assignment_names()}


@st.cache_resource(ttl=PUBLIC_TTL_SECONDS)
def load_course() -> Course:
    """The course in effect (--course, GRADER_COURSE or the root's course.toml), read again now and then
    so that an edited course file reaches the site without a restart."""
    return course_of(load_config())


def now() -> datetime:
    """The time deadlines and releases are judged at (GRADER_CLOCK_FILE's, in demos and tests)."""
    return load_config().now()


def max_points(assignment: str) -> float:
    return load_assignments()[assignment].max_points


def has_hidden_checks(assignment: str) -> bool:
    known = load_assignments().get(assignment)
    return known is not None and any(check.hidden for check in known.checks)


# --- cached queries (public pages: pseudonyms only, never ids or real names) ---

@st.cache_data(ttl=PUBLIC_TTL_SECONDS, show_spinner=False)
def final_grades(assignment: str | None = None) -> list[FinalGrade]:
    """Every student's final grade (of `assignment`, or of all), by the course's rule: after the late penalty."""
    return final_grades_of(load_reader(), load_course(), assignment)


@st.cache_data(ttl=PUBLIC_TTL_SECONDS, show_spinner=False)
def counted_checks(assignment: str | None = None) -> dict[int, list[CheckResult]]:
    """The check results of every counted, graded submission, by submission id."""
    gradebook = load_reader()
    return {grade.submission_id: gradebook.check_results(grade.submission_id)
            for grade in final_grades(assignment) if grade.status == "done"}


@st.cache_data(ttl=PUBLIC_TTL_SECONDS, show_spinner=False)
def students() -> list[StudentRow]:
    return load_reader().students()


@st.cache_data(ttl=PUBLIC_TTL_SECONDS, show_spinner=False)
def extensions() -> list[ExtensionRow]:
    return load_reader().extensions()


@st.cache_data(ttl=PUBLIC_TTL_SECONDS, show_spinner=False)
def submission_log(assignment: str | None = None) -> pd.DataFrame:
    """Every submission without its owner or content: id, assignment, submitted_at, status,
    graded_at, execution_seconds."""
    columns = ["id", "assignment", "submitted_at", "status", "graded_at", "execution_seconds"]
    rows = load_reader().submissions(assignment=assignment)
    frame = pd.DataFrame([{column: getattr(row, column) for column in columns} for row in rows], columns=columns)
    return frame.astype({"execution_seconds": "float64"})


@dataclass(frozen=True)
class PublicGrade:
    """A final grade as the public pages may show it now, under the student's pseudonym."""

    pseudonym: str
    grade: FinalGrade
    """The final grade; while the student's hidden results are not released, its scores (raw, max,
    final) count the public checks only."""
    public_only: bool
    """The hidden checks' points are left out: release = "after_due" and the student's due date
    (extension included) has not passed."""


def public_grades(assignment: str | None = None) -> list[PublicGrade]:
    """Each student's final grade as it may be shown now: hidden points only once released."""
    course, at, granted = load_course(), now(), extensions()
    names = {student.id: student.pseudonym for student in students()}
    checks = counted_checks(assignment)
    shown = []
    for grade in final_grades(assignment):
        if grade.student_id not in names:
            continue
        withheld = (has_hidden_checks(grade.assignment)
                    and not released(course, grade.student_id, grade.assignment, at, granted))
        if withheld:
            grade = without_hidden(grade, checks.get(grade.submission_id, []))
        shown.append(PublicGrade(names[grade.student_id], grade, withheld))
    return shown


def shown_max(shown: list[PublicGrade], assignment: str) -> float:
    """The points an assignment's column is out of: the public checks' while every grade of it counts
    those only, else the assignment's."""
    mine = [p for p in shown if p.grade.assignment == assignment]
    if mine and all(p.public_only for p in mine):
        return next((p.grade.max_score for p in mine if p.grade.max_score is not None), max_points(assignment))
    return max_points(assignment)


def without_hidden(grade: FinalGrade, checks: list[CheckResult]) -> FinalGrade:
    """The grade counting only the public checks of its submission, with the same late penalty."""
    if grade.status != "done":
        return grade
    raw = round(sum(check.points for check in checks if not check.hidden), 2)
    maximum = sum(check.max_points for check in checks if not check.hidden)
    return replace(grade, raw_score=raw, max_score=maximum, score=round(raw * (1 - grade.penalty), 2))


@st.cache_data(ttl=PUBLIC_TTL_SECONDS, show_spinner=False)
def _accuracy_boards(parts: tuple[tuple[str, str], ...], _at: datetime) -> list[AccuracyBoard]:
    # Cached on the parts the clock selects (the leading underscore keeps `_at` out of the key):
    # the boards depend on the time only through them.
    return accuracy_boards(load_reader(), load_course(), _at, final_grades())


def accuracy_boards_now() -> list[AccuracyBoard]:
    """The accuracy leaderboards as they stand now: public half before each due date, private after."""
    course, at = load_course(), now()
    parts = tuple((name, board_part(course.policy(name).due, at)) for name in load_assignments())
    return _accuracy_boards(parts, at)


# --- a student's dates ---

def due_line(course: Course, student_id: str, assignment: str, granted: list[ExtensionRow]) -> str:
    """"Due 2026-12-15 23:59 (Asia/Shanghai)", with "your extension included" where one moves it."""
    due = due_for(course, student_id, assignment, granted)
    if due is None:
        return "No due date."
    extended = due != course.policy(assignment).due
    return f"Due {local_text(course, due)}{', your extension included' if extended else ''}."


def withheld_sentence(course: Course, student_id: str, assignment: str, at: datetime,
                      granted: list[ExtensionRow]) -> str | None:
    """None when the student may see their hidden checks' results now; else a sentence saying when."""
    if not has_hidden_checks(assignment) or released(course, student_id, assignment, at, granted):
        return None
    hidden = sum(check.points for check in load_assignments()[assignment].checks if check.hidden)
    due = due_for(course, student_id, assignment, granted)
    return (f"The hidden checks' results ({hidden:g} points) appear here after your due date, "
            f"{local_text(course, due)}; until then the score counts the public checks only.")


# --- uploads ---

@dataclass(frozen=True)
class UploadOutcome:
    """What became of an upload, in words for the student."""

    ok: bool
    """True when the submission is in the gradebook (new, or the same bytes submitted before)."""
    message: str
    submission_id: int | None = None


def handle_upload(gradebook: Gradebook, student_id: str, assignment: str, filename: str, data: bytes,
                  config: Config, now: datetime, course: Course = NO_COURSE) -> UploadOutcome:
    """Checks an upload against the course's window, the intake's rules (type, size) and the upload
    limit, and queues it for the worker with `now` as its time.

    The site never runs the code: a separate worker (`python -m grader worker`) grades what is queued.
    """
    if now.tzinfo is None:
        raise ValueError(f"Expected a timezone-aware datetime. Received now={now!r}.")
    if assignment not in assignment_names():
        return UploadOutcome(False, f"Unknown assignment. Choose one of: {', '.join(assignment_names())}.")
    refusal = window_refusal(course, student_id, assignment, now, gradebook.extensions())
    if refusal is not None:
        return UploadOutcome(False, refusal)
    try:
        artifact = from_upload(filename, data, max_bytes=config.upload_max_bytes)
    except IntakeError as error:
        return UploadOutcome(False, str(error))
    limited = upload_limit_refusal(gradebook, student_id, assignment, config, now, course)
    if limited is not None:
        return UploadOutcome(False, limited)
    submission_id, created = gradebook.add_submission(student_id, assignment, artifact, submitted_at=now,
                                                      time_source="received")
    if not created:
        status = gradebook.submission(submission_id).status
        return UploadOutcome(True, f"You submitted exactly these bytes for {assignment} before, as submission "
                                   f"#{submission_id} ({status}); it is not graded twice.", submission_id)
    return UploadOutcome(True, f"Submission #{submission_id} for {assignment} is queued for grading.", submission_id)


def upload_limit_text(course: Course, assignment: str, config: Config) -> str:
    """"at most 5 uploads a day (days in Asia/Shanghai)", or the site's own limit per window."""
    per_day = course.policy(assignment).max_per_day
    if per_day is not None:
        return f"at most {plural(per_day, 'upload')} a day (days in {course.timezone})"
    return f"at most {plural(config.rate_limit, 'upload')} per {duration_text(config.rate_window_seconds)}"


def upload_limit_refusal(gradebook: Gradebook, student_id: str, assignment: str, config: Config, now: datetime,
                         course: Course) -> str | None:
    """Why one more upload now is too many, with when the next one is accepted; None: accepted.

    The course's max_per_day counts uploads since midnight in the course's timezone; without it the
    site's rate limit counts those in the last rate_window_seconds.
    """
    per_day = course.policy(assignment).max_per_day
    if per_day is not None:
        since = day_start(course, now)
        recent = gradebook.recent_submissions(student_id, assignment, since)
        if recent < per_day:
            return None
        tomorrow = since + timedelta(days=1)  # the same wall time a day later: the next midnight
        return (f"You have uploaded {plural(recent, 'file')} for {assignment} today; the limit is {per_day} a day "
                f"(days in {course.timezone}). You can upload again from {local_text(course, tomorrow)}.")
    window = timedelta(seconds=config.rate_window_seconds)
    since = now - window
    recent = gradebook.recent_submissions(student_id, assignment, since)
    if recent < config.rate_limit:
        return None
    times = sorted(s.submitted_at for s in gradebook.submissions(student_id, assignment) if s.submitted_at >= since)
    again = (times[0] if times else now) + window
    minutes = max(1, round((again - now).total_seconds() / 60))
    return (f"You have uploaded {plural(recent, 'file')} for {assignment} in the last "
            f"{duration_text(config.rate_window_seconds)}; the limit is {config.rate_limit}. "
            f"You can upload again at {local_text(course, again)} (in {minutes} min).")


# --- exports and downloads (instructor) ---

def csv_export(assignment: str | None) -> str:
    out = io.StringIO()
    export(load_reader(), load_course(), "csv", assignment, out)
    return out.getvalue()


def gradescope_export(assignment: str) -> str:
    out = io.StringIO()
    export(load_reader(), load_course(), "gradescope", assignment, out)
    return out.getvalue()


def submission_bytes(submission_id: int) -> bytes:
    return load_reader().content(submission_id)


# --- sign-in ---

def require_student() -> str:
    """The signed-in student's id; otherwise shows the token sign-in and stops the page there."""
    gradebook = load_reader()
    student_id = st.session_state.get(STUDENT_KEY)
    if student_id is not None:
        student = gradebook.student(student_id)
        if student is not None:
            left, right = st.columns([5, 1], vertical_alignment="center")
            left.text(f"Signed in as {student.display_name or student.id}")
            if right.button("Sign out"):
                st.session_state.clear()  # a shared computer keeps nothing of this student's session
                st.rerun()
            return student_id
        del st.session_state[STUDENT_KEY]  # removed from the gradebook since signing in
    with st.form("sign_in"):
        token = st.text_input("Upload token", type="password",
                              help="The token the course staff gave you; it works on this page and on Submit.")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        student_id = gradebook.student_for_token(token.strip())
        if student_id is None:
            st.error("That token is not valid. Check for a missing character, or ask the course staff for a new one.")
        else:
            st.session_state[STUDENT_KEY] = student_id
            st.rerun()
    st.stop()


def instructor_password() -> str | None:
    """`instructor_password` from Streamlit secrets, else GRADER_INSTRUCTOR_PASSWORD, else None."""
    try:
        secret = st.secrets.get("instructor_password")
    except FileNotFoundError:  # no secrets.toml at all (StreamlitSecretNotFoundError is one)
        secret = None
    return str(secret) if secret else load_config().instructor_password


def require_instructor() -> None:
    """Returns once the instructor password was given in this session; otherwise asks and stops the page."""
    expected = instructor_password()
    if expected is None:
        st.warning("No instructor password is set, so the instructor pages stay closed.")
        st.markdown("Set one in the site's environment, `GRADER_INSTRUCTOR_PASSWORD=...`, or in "
                    "`.streamlit/secrets.toml` as `instructor_password = \"...\"`, then restart the site.")
        st.stop()
    # The session keeps a digest of the password it was given: changing the password signs everyone out.
    digest = hashlib.sha256(expected.encode()).hexdigest()
    if hmac.compare_digest(st.session_state.get(INSTRUCTOR_KEY, ""), digest):
        if st.button("Sign out", key="instructor_sign_out"):
            del st.session_state[INSTRUCTOR_KEY]
            st.rerun()
        return
    with st.form("instructor_sign_in"):
        password = st.text_input("Instructor password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        if hmac.compare_digest(password.encode(), expected.encode()):
            st.session_state[INSTRUCTOR_KEY] = digest
            st.rerun()
        st.error("Wrong password.")
    st.stop()


# --- a student's feedback ---

def show_feedback(gradebook: Gradebook, submission: SubmissionRow, withheld: str | None = None) -> None:
    """Everything a student may see of one grading: the score, each check with its message, and the
    notes; never the instructor log.

    `withheld`: the sentence saying when the hidden checks' results appear; given, they are left out
    and the score counts the public checks only. None (staff, or released): every check is shown.
    """
    if submission.status in PENDING:
        st.info(f"Submission #{submission.id} is {submission.status}; feedback appears here when it is done.")
        return
    checks = gradebook.check_results(submission.id)
    if withheld is not None:
        checks = [check for check in checks if not check.hidden]
    if submission.grading is not None and submission.grading.status == "error":
        st.error("The grader failed on this submission. This is not a zero: the course staff will look at it.")
    elif withheld is None:
        st.metric("Score", score_text(submission.score, submission.max_score))
    else:
        st.metric("Score of the public checks", public_score_text(checks))
    if withheld is not None:
        st.info(withheld)
    for note in submission.notes:
        st.text(note)
    passed = [check for check in checks if check.status == "passed"]
    for check in checks:
        if check.status != "passed":
            _show_check(check)
    if passed:
        with st.expander(f"Passed checks ({len(passed)} of {len(checks)})"):
            for check in passed:
                _show_check(check)
    if submission.execution_seconds is not None:
        st.caption(f"Graded in {submission.execution_seconds:.0f} s.")
    if submission.device:
        st.text(f"Device: {submission.device}")


def public_score_text(checks: list[CheckResult]) -> str:
    """"12/14": the points of the checks that are not hidden, out of theirs."""
    public = [check for check in checks if not check.hidden]
    return score_text(round(sum(check.points for check in public), 2), sum(check.max_points for check in public))


def _show_check(check: CheckResult) -> None:
    with st.container(border=True):
        hidden = " (hidden)" if check.hidden else ""
        st.text(f"[{MARKS[check.status].strip()}] {check.points:g}/{check.max_points:g}  {check.name}{hidden}")
        st.code(check.message, language=None, wrap_lines=True)
