"""Submit: a signed-in student uploads a solution; it is queued, and its status updates until it is graded."""

import math
from datetime import datetime, timezone

import streamlit as st

from site_pages import common

WATCHING_KEY = "watching_submission"
OUTCOME_KEY = "upload_outcome"
STATUS_WORDS = {
    "queued": "waiting for a grader",
    "grading": "running in the sandbox",
    "done": "graded",
    "error": "the grader failed (not a zero: the course staff will look at it)",
}


def show_status(student_id: str, submission_id: int, polling: bool) -> None:
    mine = {s["id"]: s for s in common.load_reader().submissions(student_id=student_id)}
    submission = mine.get(submission_id)
    if submission is None:
        return
    if polling and submission["status"] not in common.PENDING:
        st.rerun()  # graded: draw the page once more, without polling
    st.subheader(f"Submission #{submission_id}: {submission['assignment']}")
    st.markdown(f"Status: **{submission['status']}** ({STATUS_WORDS[submission['status']]})")
    common.show_feedback(common.load_reader(), submission)


st.title("Submit")
student_id = common.require_student()
config = common.load_config()

st.caption(f"A .py file, a notebook (.ipynb) or a folder as a .zip, up to {common.size_text(config.upload_max_bytes)}; "
           f"at most {config.rate_limit} uploads per assignment per "
           f"{common.duration_text(config.rate_window_seconds)}. Your code is graded on the grading server in a "
           "sandbox; the status below updates by itself.")

assignments = common.load_assignments()
assignment = st.selectbox("Assignment", list(assignments),
                          format_func=lambda name: f"{name}: {assignments[name].title}")
upload = st.file_uploader("Your solution", type=[suffix.lstrip(".") for suffix in common.UPLOAD_SUFFIXES],
                          max_upload_size=max(1, math.ceil(config.upload_max_bytes / 2**20)))
if st.button("Submit for grading", type="primary", disabled=upload is None):
    outcome = common.handle_upload(common.load_gradebook(), student_id, assignment, upload.name, upload.getvalue(),
                                   config, datetime.now(timezone.utc))
    st.session_state[OUTCOME_KEY] = outcome
    if outcome.ok:
        st.session_state[WATCHING_KEY] = outcome.submission_id

outcome = st.session_state.get(OUTCOME_KEY)
if outcome is not None:
    (st.success if outcome.ok else st.error)(outcome.message)

watching = st.session_state.get(WATCHING_KEY)
if watching is not None:
    status = next((s["status"] for s in common.load_reader().submissions(student_id=student_id)
                   if s["id"] == watching), None)
    pending = status in common.PENDING
    st.fragment(show_status, run_every=common.POLL_SECONDS if pending else None)(student_id, watching, pending)
