"""Instructor: grades with real ids and names, submissions and regrading, exports, the roster and its tokens."""

import functools
import io

import pandas as pd
import streamlit as st

from grader.roster import RosterError, import_roster, read_roster, write_tokens
from site_pages import common

EVERY = "every assignment"
TOKENS_KEY = "issued_tokens"


def grades_table(results: list[dict]) -> pd.DataFrame:
    """Each student's latest finished grading per assignment, with the student's id and real name."""
    return pd.DataFrame([{
        "student_id": r["student_id"],
        "display_name": r["display_name"],
        "pseudonym": r["pseudonym"],
        "assignment": r["assignment"],
        "submission": r["submission_id"],
        "score": r["score"],
        "max_score": r["max_score"],
        "status": r["status"],
        "graded (UTC)": r["graded_at"],
    } for r in results])


def submissions_table(submissions: list[dict]) -> pd.DataFrame:
    """Every submission, newest first, with what the queue knows about it."""
    return pd.DataFrame([{
        "#": s["id"],
        "student_id": s["student_id"],
        "assignment": s["assignment"],
        "file": s["filename"],
        "submitted (UTC)": s["submitted_at"],
        "status": s["status"],
        "score": s["score"],
        "max_score": s["max_score"],
        "attempts": s["attempts"],
        "worker": s["claimed_by"],
        "seconds": s["execution_seconds"],
    } for s in reversed(submissions)])


def tokens_csv(tokens: list[tuple[str, str]]) -> str:
    out = io.StringIO()
    write_tokens(tokens, out)
    return out.getvalue()


st.title("Instructor")
common.require_instructor()
gradebook = common.load_gradebook()
assignments = list(common.load_assignments())

grades_tab, submissions_tab, regrade_tab, exports_tab, roster_tab = st.tabs(
    ["Grades", "Submissions", "Regrade all", "Exports", "Roster and tokens"])

with grades_tab:
    results = gradebook.latest_results()
    if results:
        st.dataframe(grades_table(results), hide_index=True, column_config={"graded (UTC)": common.UTC_MINUTES})
    else:
        st.info(common.NO_SUBMISSIONS)

with submissions_tab:
    submissions = gradebook.submissions()
    if not submissions:
        st.info("No submissions yet.")
    else:
        statuses = pd.Series([s["status"] for s in submissions])
        for column, status in zip(st.columns(4), ("queued", "grading", "done", "error")):
            column.metric(status, int((statuses == status).sum()))
        st.dataframe(submissions_table(submissions), hide_index=True,
                     column_config={"submitted (UTC)": common.UTC_MINUTES})

        by_id = {s["id"]: s for s in reversed(submissions)}
        chosen = st.selectbox("Submission", list(by_id), key="instructor_submission",
                              format_func=lambda i: f"#{i} · {by_id[i]['assignment']} · {by_id[i]['status']}")
        submission = by_id[chosen]
        left, right = st.columns(2)
        left.download_button("Download the submitted file", functools.partial(common.submission_bytes, chosen),
                             file_name=common.safe_filename(submission["filename"]) or f"submission-{chosen}",
                             mime="application/octet-stream", on_click="ignore")
        if right.button("Regrade this submission"):
            gradebook.requeue(chosen)
            st.cache_data.clear()
            st.success(f"Submission #{chosen} is queued for grading again.")
        common.show_feedback(gradebook, submission)
        if submission["instructor_log"]:
            st.caption("Instructor log (never shown to the student)")
            st.code(submission["instructor_log"], language=None)

with regrade_tab:
    st.write("Queue submissions for grading again, e.g. after fixing a check. "
             "The worker regrades them in the order they were submitted.")
    target = st.selectbox("Regrade the submissions of", [EVERY, *assignments], key="regrade_assignment")
    confirmed = st.checkbox("Yes, regrade all of them")
    if st.button("Regrade all", disabled=not confirmed):
        count = gradebook.requeue_all(None if target == EVERY else target)
        st.cache_data.clear()
        st.success(f"{count} submissions are queued for grading again.")

with exports_tab:
    chosen_assignment = st.selectbox("Export", [EVERY, *assignments], key="export_assignment")
    scope = None if chosen_assignment == EVERY else chosen_assignment
    st.download_button("Grades as CSV", functools.partial(common.csv_export, scope),
                       file_name=f"grades-{scope or 'all'}.csv", mime="text/csv", on_click="ignore")
    if scope is None:
        st.caption("Gradescope results are per assignment: choose one above.")
    else:
        st.download_button("Gradescope results (JSON)", functools.partial(common.gradescope_export, scope),
                           file_name=f"gradescope-{scope}.json", mime="application/json", on_click="ignore")
        left_out = [r["student_id"] for r in gradebook.latest_results(scope) if r["status"] != "done"]
        if left_out:
            st.warning("Left out of the Gradescope results: the grader failed on their latest submission, "
                       "which Gradescope would read as a zero. Regrade them first.")
            st.dataframe(pd.DataFrame({"student_id": left_out}), hide_index=True)

with roster_tab:
    st.write("A CSV with a `student_id` column and optionally `display_name`. Students without a token get "
             "one; the gradebook keeps only a hash of it, so this page shows each token once.")
    roster = st.file_uploader("Roster CSV", type=["csv"])
    reissue = st.checkbox("Issue new tokens to everyone on the roster (old tokens stop working)")
    if st.button("Import the roster", disabled=roster is None):
        try:
            imported = import_roster(gradebook, read_roster(roster.getvalue(), roster.name), reissue=reissue)
        except RosterError as error:
            st.error("The roster cannot be used as it is; nothing was imported.")
            st.code(str(error), language=None)
        else:
            st.session_state[TOKENS_KEY] = imported.tokens
            st.success(f"{len(imported.added)} students added, {len(imported.renamed)} renamed, "
                       f"{len(imported.tokens)} tokens issued.")
    tokens = st.session_state.get(TOKENS_KEY)
    if tokens:
        st.warning("Save these tokens now: they are shown only in this session and cannot be recovered.")
        st.dataframe(pd.DataFrame(tokens, columns=["student_id", "token"]), hide_index=True)
        st.download_button("Download the tokens (CSV)", tokens_csv(tokens), file_name="tokens.csv",
                           mime="text/csv", on_click="ignore")
        if st.button("I have saved them: hide the tokens"):
            del st.session_state[TOKENS_KEY]
            st.rerun()
