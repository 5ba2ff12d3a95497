"""Submit: a signed-in student uploads a solution in the assignment's window; it is queued and its status updates."""

import math

import streamlit as st

from grader.course import close_for, due_for, window_refusal
from grader.course.deadlines import window_text
from grader.intake import SUFFIXES
from grader.present import size_text, status_text
from site_pages import common

WATCHING_KEY = "watching_submission"
OUTCOME_KEY = "upload_outcome"


def show_status(student_id: str, submission_id: int, polling: bool) -> None:
    gradebook = common.load_reader()
    mine = {s.id: s for s in gradebook.submissions(student_id=student_id)}
    submission = mine.get(submission_id)
    if submission is None:
        return
    if polling and submission.status not in common.PENDING:
        st.rerun()  # graded: draw the page once more, without polling
    st.subheader(f"Submission #{submission_id}: {submission.assignment}")
    st.markdown(f"Status: **{status_text(submission.status)}**")
    granted = [e for e in gradebook.extensions() if e.student_id == student_id]
    withheld = common.withheld_sentence(common.load_course(), student_id, submission.assignment, common.now(), granted)
    common.show_feedback(gradebook, submission, withheld)


st.title("Submit")
student_id = common.require_student()
config, course = common.load_config(), common.load_course()

assignments = common.load_assignments()
assignment = st.selectbox("Assignment", list(assignments),
                          format_func=lambda name: f"{name}: {assignments[name].title}")
granted = [e for e in common.load_reader().extensions() if e.student_id == student_id]
policy = course.policy(assignment)
close = close_for(course, student_id, assignment, granted)
st.text(common.due_line(course, student_id, assignment, granted))
if policy.opens is not None or close is not None:
    st.text(f"Uploads are accepted {window_text(course, policy.opens, close)}.")
if policy.late_penalty_per_day and due_for(course, student_id, assignment, granted) is not None:
    st.text(f"Late work loses {round(policy.late_penalty_per_day * 100, 2):g}% of its points per started day.")
refusal = window_refusal(course, student_id, assignment, common.now(), granted)
if refusal is not None:
    st.warning(refusal)

st.caption(f"A .py file, a notebook (.ipynb) or a folder as a .zip, up to {size_text(config.upload_max_bytes)}; "
           f"{common.upload_limit_text(course, assignment, config)} for {assignment}. Your code is graded on "
           "the grading server in a sandbox; the status below updates by itself.")
upload = st.file_uploader("Your solution", type=[suffix.lstrip(".") for suffix in SUFFIXES],
                          max_upload_size=max(1, math.ceil(config.upload_max_bytes / 2**20)))
if st.button("Submit for grading", type="primary", disabled=upload is None or refusal is not None):
    outcome = common.handle_upload(common.load_gradebook(), student_id, assignment, upload.name, upload.getvalue(),
                                   config, config.now(), course)
    st.session_state[OUTCOME_KEY] = outcome
    if outcome.ok:
        st.session_state[WATCHING_KEY] = outcome.submission_id

outcome = st.session_state.get(OUTCOME_KEY)
if outcome is not None:
    (st.success if outcome.ok else st.error)(outcome.message)

watching = st.session_state.get(WATCHING_KEY)
if watching is not None:
    status = next((s.status for s in common.load_reader().submissions(student_id=student_id)
                   if s.id == watching), None)
    pending = status in common.PENDING
    st.fragment(show_status, run_every=common.POLL_SECONDS if pending else None)(student_id, watching, pending)
