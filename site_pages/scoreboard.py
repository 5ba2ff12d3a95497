"""Scoreboard: every student's latest scores under a pseudonym, ranked, and the digit adder's accuracy board."""

import pandas as pd
import streamlit as st

from site_pages import common

ALL = "All assignments"
ADDER = "digit_adder"


def ranked_totals(results: pd.DataFrame, assignments: list[str]) -> pd.DataFrame:
    """One row per pseudonym: rank, one column per assignment ("conv_ops (/30)") and the total."""
    scores = results.pivot(index="pseudonym", columns="assignment", values="score").reindex(columns=assignments)
    scores.columns = [f"{name} (/{common.max_points(name):g})" for name in assignments]
    possible = sum(common.max_points(name) for name in assignments)
    total = f"total (/{possible:g})"
    scores[total] = scores.sum(axis=1, skipna=True).round(2)
    return _ranked(scores.reset_index(), total)


def ranked_assignment(results: pd.DataFrame, assignment: str) -> pd.DataFrame:
    """One row per pseudonym with a graded submission of the assignment, best score first."""
    rows = results[results["assignment"] == assignment]
    table = pd.DataFrame({
        "pseudonym": rows["pseudonym"],
        "score": rows["score"],
        "share": rows["score"] / common.max_points(assignment),
        "status": rows["status"].map({"done": "graded", "error": "grader error"}),
        "graded at (UTC)": rows["graded_at"],
    })
    return _ranked(table, "score")


def adder_leaderboard(checks: pd.DataFrame, check_name: str) -> pd.DataFrame:
    """The points of the hidden accuracy check per pseudonym, best first."""
    rows = checks[checks["check"] == check_name]
    table = pd.DataFrame({
        "pseudonym": rows["pseudonym"],
        "accuracy points": rows["points"],
        "of": rows["max_points"],
        "share": rows["points"] / rows["max_points"],
    })
    return _ranked(table, "accuracy points")


def _ranked(table: pd.DataFrame, by: str) -> pd.DataFrame:
    # Ties share a rank; the pseudonym breaks them only for a stable order on screen.
    table = table.sort_values([by, "pseudonym"], ascending=[False, True], na_position="last")
    table.insert(0, "rank", table[by].rank(method="min", ascending=False).astype("Int64"))
    return table


st.title("Scoreboard")
st.caption("Each student's latest graded submission, under a stable pseudonym. Updated every "
           f"{common.PUBLIC_TTL_SECONDS} s; an empty cell is not graded yet, or a grader error (not a zero).")

results = common.public_results()
if results.empty:
    st.info(common.NO_SUBMISSIONS)
    st.stop()

assignments = [name for name in common.load_assignments() if name in set(results["assignment"])]
choice = st.selectbox("Assignment", [ALL, *assignments])

if choice == ALL:
    st.dataframe(ranked_totals(results, assignments), hide_index=True, placeholder="")
else:
    st.dataframe(ranked_assignment(results, choice), hide_index=True, placeholder="", column_config={
        "share": st.column_config.ProgressColumn("share of the points", min_value=0, max_value=1, format="percent"),
        "graded at (UTC)": common.UTC_MINUTES,
    })

accuracy = common.accuracy_check(ADDER) if choice in (ALL, ADDER) and ADDER in assignments else None
if accuracy:
    st.subheader("Digit adder: accuracy leaderboard")
    st.caption(f"Points of the hidden check \u201c{accuracy}\u201d in each student's latest grading.")
    board = adder_leaderboard(common.latest_checks(ADDER), accuracy)
    if board.empty:
        st.info("No digit adder submission has been graded yet.")
    else:
        st.dataframe(board, hide_index=True, column_config={
            "share": st.column_config.ProgressColumn("share of the points", min_value=0, max_value=1,
                                                     format="percent"),
        })
