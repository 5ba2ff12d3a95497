"""What the site's pages share: the gradebook and cached queries, sign-in, upload rules, feedback."""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from grader.assignment import Assignment, assignment_names, load_assignment
from grader.config import Config
from grader.export import export_csv, export_gradescope
from grader.feedback import MARKS
from grader.store import Gradebook
from grader.text import safe_text

PUBLIC_TTL_SECONDS = 30
"""How stale the scoreboard and analytics may be: they are read by many, changed by few."""
POLL_SECONDS = 2
"""How often a page showing a queued or grading submission asks the gradebook again."""
PENDING = ("queued", "grading")
UPLOAD_SUFFIXES = (".py", ".ipynb", ".zip")
MAX_FILENAME_CHARS = 200
NO_SUBMISSIONS = "No submissions yet: results appear here once the first submission is graded."
STUDENT_KEY = "student_id"
INSTRUCTOR_KEY = "instructor"
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
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


def max_points(assignment: str) -> float:
    return load_assignments()[assignment].max_points


def accuracy_check(assignment: str) -> str | None:
    """The name of the assignment's hidden accuracy check, if it has one."""
    for check in load_assignments()[assignment].checks:
        if check.hidden and check.name.startswith("accuracy"):
            return check.name
    return None


# --- cached queries (public pages: pseudonyms only, never ids or real names) ---

@st.cache_data(ttl=PUBLIC_TTL_SECONDS, show_spinner=False)
def public_results(assignment: str | None = None) -> pd.DataFrame:
    """Each student's latest finished grading per assignment: pseudonym, assignment, submission_id,
    score, max_score, graded_at, status (done, or error with no score)."""
    columns = ["pseudonym", "assignment", "submission_id", "score", "max_score", "graded_at", "status"]
    rows = load_reader().latest_results(assignment)
    frame = pd.DataFrame([{column: row[column] for column in columns} for row in rows], columns=columns)
    return frame.astype({"score": "float64", "max_score": "float64"})


@st.cache_data(ttl=PUBLIC_TTL_SECONDS, show_spinner=False)
def latest_checks(assignment: str) -> pd.DataFrame:
    """One row per check of each student's latest done grading of the assignment:
    pseudonym, submission_id, position, check, points, max_points, status, hidden."""
    gradebook = load_reader()
    rows = [
        {"pseudonym": result["pseudonym"], "submission_id": result["submission_id"], "position": position,
         "check": check.name, "points": check.points, "max_points": check.max_points,
         "status": check.status, "hidden": check.hidden}
        for result in gradebook.latest_results(assignment) if result["status"] == "done"
        for position, check in enumerate(gradebook.check_results(result["submission_id"]))
    ]
    return pd.DataFrame(rows, columns=["pseudonym", "submission_id", "position", "check", "points",
                                       "max_points", "status", "hidden"])


@st.cache_data(ttl=PUBLIC_TTL_SECONDS, show_spinner=False)
def submission_log(assignment: str | None = None) -> pd.DataFrame:
    """Every submission without its owner or content: id, assignment, submitted_at, status,
    score, max_score, graded_at, execution_seconds."""
    columns = ["id", "assignment", "submitted_at", "status", "score", "max_score", "graded_at",
               "execution_seconds"]
    rows = load_reader().submissions(assignment=assignment)
    frame = pd.DataFrame([{column: row[column] for column in columns} for row in rows], columns=columns)
    return frame.astype({"score": "float64", "max_score": "float64", "execution_seconds": "float64"})


# --- formatting ---

def score_text(score: float | None, maximum: float | None) -> str:
    """"12.5/20", or "no score" for a submission not graded or failed by the grader."""
    if score is None or maximum is None or pd.isna(score):
        return "no score"
    return f"{score:g}/{maximum:g}"


def size_text(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 2**10:.0f} kB" if size >= 2**10 else f"{size} bytes"


def duration_text(seconds: float) -> str:
    if seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return "hour" if hours == 1 else f"{hours} hours"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)} minutes"
    return f"{seconds:g} seconds"


def safe_filename(filename: str) -> str:
    """The file's own name without folders or control characters, at most MAX_FILENAME_CHARS long; a
    lone surrogate (which the gradebook could not store) becomes U+FFFD."""
    name = safe_text(_CONTROL_CHARS.sub("", filename.replace("\\", "/").rsplit("/", 1)[-1])).strip()
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        name = f"{stem[:MAX_FILENAME_CHARS - len(suffix) - 1]}.{suffix}" if dot else name[:MAX_FILENAME_CHARS]
    return name


# --- uploads ---

@dataclass(frozen=True)
class UploadOutcome:
    """What became of an upload, in words for the student."""

    ok: bool
    """True when the submission is in the gradebook (new, or the same bytes submitted before)."""
    message: str
    submission_id: int | None = None


def handle_upload(gradebook: Gradebook, student_id: str, assignment: str, filename: str, data: bytes,
                  config: Config, now: datetime) -> UploadOutcome:
    """Checks an upload against the site's rules (type, size, rate) and queues it for the worker.

    The site never runs the code: a separate worker (`python -m grader worker`) grades what is queued.
    """
    if now.tzinfo is None:
        raise ValueError(f"Expected a timezone-aware datetime. Received now={now!r}.")
    if assignment not in assignment_names():
        return UploadOutcome(False, f"Unknown assignment. Choose one of: {', '.join(assignment_names())}.")
    name = safe_filename(filename)
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        return UploadOutcome(False, f"Upload a {', '.join(UPLOAD_SUFFIXES)} file; this one has another type. "
                                    "A folder goes in as a .zip.")
    if not data:
        return UploadOutcome(False, "The file is empty. Did you save it before uploading?")
    if len(data) > config.upload_max_bytes:
        return UploadOutcome(False, f"The file is {size_text(len(data))}; the limit is "
                                    f"{size_text(config.upload_max_bytes)}. Likely cause: a notebook with its "
                                    "outputs (clear them) or a zip with data or checkpoints in it (leave them out).")
    window = timedelta(seconds=config.rate_window_seconds)
    since = now - window
    recent = gradebook.recent_submissions(student_id, assignment, since)
    if recent >= config.rate_limit:
        times = sorted(s["submitted_at"] for s in gradebook.submissions(student_id, assignment)
                       if s["submitted_at"] >= since)
        again = (times[0] if times else now) + window
        minutes = max(1, round((again - now).total_seconds() / 60))
        return UploadOutcome(False, f"You have uploaded {recent} files for {assignment} in the last "
                                    f"{duration_text(config.rate_window_seconds)}; the limit is {config.rate_limit}. "
                                    f"You can upload again at {again:%H:%M} UTC (in {minutes} min).")
    submission_id, created = gradebook.queue_submission(student_id, assignment, name, bytes(data))
    if not created:
        status = gradebook.submission(submission_id)["status"]
        return UploadOutcome(True, f"You submitted exactly these bytes for {assignment} before, as submission "
                                   f"#{submission_id} ({status}); it is not graded twice.", submission_id)
    return UploadOutcome(True, f"Submission #{submission_id} for {assignment} is queued for grading.", submission_id)


# --- exports and downloads (instructor) ---

def csv_export(assignment: str | None) -> str:
    out = io.StringIO()
    export_csv(load_reader(), assignment, out)
    return out.getvalue()


def gradescope_export(assignment: str) -> str:
    out = io.StringIO()
    export_gradescope(load_reader(), assignment, out)
    return out.getvalue()


def submission_bytes(submission_id: int) -> bytes:
    return load_reader().submission(submission_id)["content"]


# --- sign-in ---

def require_student() -> str:
    """The signed-in student's id; otherwise shows the token sign-in and stops the page there."""
    gradebook = load_reader()
    student_id = st.session_state.get(STUDENT_KEY)
    if student_id is not None:
        student = next((s for s in gradebook.students() if s["id"] == student_id), None)
        if student is not None:
            left, right = st.columns([5, 1], vertical_alignment="center")
            left.text(f"Signed in as {student['display_name'] or student['id']}")
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

def show_feedback(gradebook: Gradebook, submission: dict) -> None:
    """Everything a student may see of one grading: the score, each check with its message
    (hidden checks too: it is their own work), and the notes. Never the instructor log."""
    status = submission["status"]
    if status in PENDING:
        st.info(f"Submission #{submission['id']} is {status}; feedback appears here when it is done.")
        return
    if status == "error":
        st.error("The grader failed on this submission. This is not a zero: the course staff will look at it.")
    else:
        st.metric("Score", score_text(submission["score"], submission["max_score"]))
    for note in submission.get("notes") or []:
        st.text(note)
    checks = gradebook.check_results(submission["id"])
    passed = [check for check in checks if check.status == "passed"]
    for check in checks:
        if check.status != "passed":
            _show_check(check)
    if passed:
        with st.expander(f"Passed checks ({len(passed)} of {len(checks)})"):
            for check in passed:
                _show_check(check)
    if submission.get("execution_seconds") is not None:
        st.caption(f"Graded in {submission['execution_seconds']:.0f} s.")
    if submission.get("device"):
        st.text(f"Device: {submission['device']}")


def _show_check(check) -> None:
    with st.container(border=True):
        hidden = " (hidden)" if check.hidden else ""
        st.text(f"[{MARKS[check.status].strip()}] {check.points:g}/{check.max_points:g}  {check.name}{hidden}")
        st.code(check.message, language=None, wrap_lines=True)
