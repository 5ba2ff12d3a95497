"""Assignment analytics: score distribution, which checks students fail, submissions over time, grading time."""

import altair as alt
import pandas as pd
import streamlit as st

from site_pages import common

# Submissions spread over less than this are counted per hour, otherwise per day. (A comment, not a
# docstring: Streamlit's magic would print a bare string in a page script.)
HOURLY_UNTIL = pd.Timedelta(days=2)


def pass_rates(checks: pd.DataFrame) -> pd.DataFrame:
    """Per check: the share of counted gradings that passed it, the least passed first."""
    rates = (checks.assign(passed=checks["status"] == "passed")
             .groupby(["position", "check"], as_index=False)
             .agg(pass_rate=("passed", "mean"), gradings=("passed", "size")))
    return rates.sort_values(["pass_rate", "position"]).reset_index(drop=True)


def time_unit(times: pd.Series) -> tuple[str, str]:
    """Vega-Lite's time unit to count submissions by, and its name: hours for a short span, else days."""
    return ("yearmonthdatehours", "hour") if times.max() - times.min() < HOURLY_UNTIL else ("yearmonthdate", "day")


def published_checks(shown: list[common.PublicGrade], assignment: str) -> pd.DataFrame:
    """One row per check of each counted, graded submission: position, check, status; a student's
    hidden checks only once their results are released."""
    checks = common.counted_checks(assignment)
    rows = [{"position": position, "check": check.name, "status": check.status}
            for p in shown if p.grade.status == "done"
            for position, check in enumerate(checks.get(p.grade.submission_id, []))
            if not (check.hidden and p.public_only)]
    return pd.DataFrame(rows, columns=["position", "check", "status"])


st.title("Assignment analytics")

assignment = st.selectbox("Assignment", list(common.load_assignments()),
                          format_func=lambda name: f"{name}: {common.load_assignments()[name].title}")
log = common.submission_log(assignment)
if log.empty:
    st.info(common.NO_SUBMISSIONS)
    st.stop()

shown = common.public_grades(assignment)
graded = pd.DataFrame({"score": [p.grade.score for p in shown if p.grade.status == "done"]}, dtype="float64")
public_only = any(p.public_only for p in shown)
possible = common.shown_max(shown, assignment)
first, second, third, fourth = st.columns(4)
first.metric("Submissions", len(log))
second.metric("Students graded", len(graded))
third.metric("Median score", "–" if graded.empty else f"{graded['score'].median():g}/{possible:g}")
fourth.metric("Waiting to be graded", int(log["status"].isin(common.PENDING).sum()))

st.subheader("Score distribution")
st.caption("Each student's final grade: the submission the course's rule counts, after the late penalty."
           + (" Before the due date the hidden checks' points are not published: the scores count the public "
              "checks only." if public_only else ""))
if graded.empty:
    st.info("Nothing graded yet.")
else:
    st.altair_chart(alt.Chart(graded).mark_bar().encode(
        x=alt.X("score:Q", bin=alt.Bin(extent=[0, possible], maxbins=20), title=f"score (of {possible:g})"),
        y=alt.Y("count():Q", title="students", axis=alt.Axis(tickMinStep=1)),
    ), width="stretch")

st.subheader("Pass rate of each check")
st.caption("The share of students whose counted submission passed the check (full points); the hardest first."
           + (" Hidden checks are left out until their results are released." if public_only else ""))
checks = published_checks(shown, assignment)
if checks.empty:
    st.info("Nothing graded yet.")
else:
    rates = pass_rates(checks)
    st.altair_chart(alt.Chart(rates).mark_bar().encode(
        x=alt.X("pass_rate:Q", title="passed", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        y=alt.Y("check:N", sort=None, title=None, axis=alt.Axis(labelLimit=400)),
        tooltip=["check", alt.Tooltip("pass_rate:Q", format=".0%"), "gradings"],
    ), width="stretch")

st.subheader("Submissions over time")
unit, per = time_unit(log["submitted_at"])
# Counted in the browser, so that hours and days are the viewer's own.
st.altair_chart(alt.Chart(log[["submitted_at"]]).mark_bar().encode(
    x=alt.X(f"{unit}(submitted_at):T", title=f"{per} (your time zone)"),
    y=alt.Y("count():Q", title=f"submissions per {per}", axis=alt.Axis(tickMinStep=1)),
    tooltip=[alt.Tooltip(f"{unit}(submitted_at):T", title=per), alt.Tooltip("count():Q", title="submissions")],
), width="stretch")

st.subheader("Grading time")
timed = log.dropna(subset=["execution_seconds"])
if timed.empty:
    st.info("No grading has finished yet.")
else:
    st.caption(f"Sandbox wall time per grading: median {timed['execution_seconds'].median():.0f} s, "
               f"longest {timed['execution_seconds'].max():.0f} s.")
    st.altair_chart(alt.Chart(timed[["execution_seconds"]]).mark_bar().encode(
        x=alt.X("execution_seconds:Q", bin=alt.Bin(maxbins=20, minstep=1), title="seconds"),
        y=alt.Y("count():Q", title="gradings", axis=alt.Axis(tickMinStep=1)),
    ), width="stretch")
