"""My submissions: a student's own submissions, their status and score, and the feedback of every check."""

import pandas as pd
import streamlit as st

from site_pages import common


def submissions_table(submissions: list[dict]) -> pd.DataFrame:
    """The student's submissions, newest first."""
    return pd.DataFrame([{
        "#": s["id"],
        "assignment": s["assignment"],
        "file": s["filename"],
        "submitted (UTC)": s["submitted_at"],
        "status": s["status"],
        "score": common.score_text(s["score"], s["max_score"]),
    } for s in reversed(submissions)])


def show_submissions(student_id: str, polling: bool) -> None:
    gradebook = common.load_reader()
    submissions = gradebook.submissions(student_id=student_id)
    if not submissions:
        st.info("You have no submissions yet. Upload one on the Submit page.")
        return
    if polling and not any(s["status"] in common.PENDING for s in submissions):
        st.rerun()  # everything is graded: draw the page once more, without polling
    st.dataframe(submissions_table(submissions), hide_index=True,
                 column_config={"submitted (UTC)": common.UTC_MINUTES})
    by_id = {s["id"]: s for s in reversed(submissions)}
    chosen = st.selectbox("Feedback for submission", list(by_id), key="feedback_for", format_func=lambda i: (
        f"#{i} · {by_id[i]['assignment']} · {by_id[i]['submitted_at']:%Y-%m-%d %H:%M} UTC"))
    common.show_feedback(gradebook, by_id[chosen])


st.title("My submissions")
student_id = common.require_student()

pending = any(s["status"] in common.PENDING for s in common.load_reader().submissions(student_id=student_id))
st.fragment(show_submissions, run_every=common.POLL_SECONDS if pending else None)(student_id, pending)
