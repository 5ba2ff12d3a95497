"""Scoreboard: every student's final grades under a pseudonym, ranked, and the accuracy leaderboards."""

import pandas as pd
import streamlit as st

from grader.leaderboard import part_caption
from grader.present import percent_text, ranks
from grader.standings import AccuracyBoard, standings
from site_pages import common

ALL = "All assignments"
STATUS = {"done": "graded", "error": "grader error", "none": "no submission counts"}


def column_label(name: str, shown: list[common.PublicGrade]) -> str:
    """"conv_ops (/30)"; "lenet5 (public checks, /14)" while its hidden points are not released."""
    mine = [p for p in shown if p.grade.assignment == name]
    if mine and all(p.public_only for p in mine):
        return f"{name} (public checks, /{common.shown_max(shown, name):g})"
    if any(p.public_only for p in mine):
        return f"{name} (/{common.max_points(name):g}; public checks only where not yet due)"
    return f"{name} (/{common.max_points(name):g})"


def ranked_totals(shown: list[common.PublicGrade], assignments: list[str]) -> pd.DataFrame:
    """One row per pseudonym: rank, the final score per assignment ("conv_ops (/30)"), the score before
    the late penalty beside it where one differs, and the total; ties share a rank."""
    labels = {name: column_label(name, shown) for name in assignments}
    differs = {p.grade.assignment for p in shown if p.grade.raw_score != p.grade.score}
    total = f"total (/{sum(common.shown_max(shown, name) for name in assignments):g})"
    rows = []
    for standing in standings([p.grade for p in shown], common.students()):
        row = {"rank": standing.rank, "pseudonym": standing.pseudonym}
        for name in assignments:
            grade = standing.grades.get(name)
            row[labels[name]] = None if grade is None else grade.score
            if name in differs:
                raw = None if grade is None or grade.raw_score == grade.score else grade.raw_score
                row[f"{name} before penalty"] = raw
        row[total] = standing.total
        rows.append(row)
    return pd.DataFrame(rows)


def ranked_assignment(shown: list[common.PublicGrade], assignment: str) -> pd.DataFrame:
    """One row per pseudonym with a final grade of the assignment, best first; ties share a rank."""
    mine = sorted((p for p in shown if p.grade.assignment == assignment),
                  key=lambda p: (p.grade.score is None, -(p.grade.score or 0), p.pseudonym))
    table = pd.DataFrame({
        "rank": pd.array(ranks([p.grade.score for p in mine]), dtype="Int64"),
        "pseudonym": [p.pseudonym for p in mine],
        "score": [p.grade.score for p in mine],
        "before penalty": [None if p.grade.raw_score == p.grade.score else p.grade.raw_score for p in mine],
        "late": [p.grade.lateness or "" for p in mine],
        "share": [None if p.grade.score is None or not p.grade.max_score else p.grade.score / p.grade.max_score
                  for p in mine],
        "counts": ["public checks only" if p.public_only else "all checks" for p in mine],
        "status": [STATUS[p.grade.status] for p in mine],
        "submitted (UTC)": [p.grade.submitted_at for p in mine],
    }, columns=["rank", "pseudonym", "score", "before penalty", "late", "share", "counts", "status",
                "submitted (UTC)"])
    return table.astype({"score": "float64", "before penalty": "float64", "share": "float64"})


def board_table(board: AccuracyBoard) -> pd.DataFrame:
    """The board's rows: rank (tied where intervals overlap), pseudonym, accuracy, its 95% interval."""
    return pd.DataFrame([{
        "rank": f"{row.rank} (tied)" if row.tied else str(row.rank),
        "pseudonym": row.pseudonym,
        "accuracy": percent_text(row.accuracy, 2),
        "95% interval": f"{percent_text(row.low, 2)} to {percent_text(row.high, 2)}",
        "correct": f"{row.correct:,} of {row.total:,}",
    } for row in board.rows], columns=["rank", "pseudonym", "accuracy", "95% interval", "correct"])


st.title("Scoreboard")
st.caption("Each student's final grade under a stable pseudonym: the submission the course's rule counts, after "
           f"the late penalty (the score before it beside, where they differ). Updated every "
           f"{common.PUBLIC_TTL_SECONDS} s; an empty cell is not graded yet, or a grader error (not a zero). "
           "Equal totals share a rank.")

shown = common.public_grades()
if not shown:
    st.info(common.NO_SUBMISSIONS)
    st.stop()

assignments = [name for name in common.load_assignments() if name in {p.grade.assignment for p in shown}]
choice = st.selectbox("Assignment", [ALL, *assignments])
in_view = assignments if choice == ALL else [choice]
if any(p.public_only for p in shown if p.grade.assignment in in_view):
    st.caption("Before an assignment's due date (a student's own, with an extension) the results of its hidden "
               "checks are not published: its column counts the public checks' points only, and says so.")

if choice == ALL:
    st.dataframe(ranked_totals(shown, assignments), hide_index=True, placeholder="")
else:
    st.dataframe(ranked_assignment(shown, choice), hide_index=True, placeholder="", column_config={
        "share": st.column_config.ProgressColumn("share of the points", min_value=0, max_value=1, format="percent"),
        "submitted (UTC)": common.UTC_MINUTES,
    })

for board in common.accuracy_boards_now():
    if board.assignment not in in_view:
        continue
    st.subheader(f"{board.assignment}: accuracy leaderboard")
    st.caption(f"{part_caption(board.part)} The accuracy itself with its 95% bootstrap interval; rows whose "
               "intervals overlap cannot be told apart and share a rank (tied).")
    if board.rows:
        st.dataframe(board_table(board), hide_index=True)
    else:
        st.info(f"No {board.assignment} grading has measured an accuracy on this part yet.")
