"""My submissions: the final grade per assignment and which submission counts, then a submission's feedback and report."""

import pandas as pd
import streamlit as st

from grader.course import FinalGrade, final_grades
from grader.present import score_text
from grader.store import Gradebook
from grader.store.rows import SubmissionRow
from site_pages import common, report


def grade_lines(grade: FinalGrade, withheld: bool) -> list[str]:
    """The final grade in words: the score (the raw one beside where the penalty changed it), which
    submission counts and why, the late line, and the submissions that do not count."""
    if grade.status == "none":
        lines = [f"No submission counts ({grade.why})."]
    else:
        score = score_text(grade.score, grade.max_score)
        if grade.status == "error":
            score = "no score yet: the grader failed on the submission that counts (not a zero)"
        elif grade.raw_score != grade.score:
            score += f" ({score_text(grade.raw_score, grade.max_score)} before the late penalty)"
        lines = [f"Final grade{' of the public checks' if withheld else ''}: {score}",
                 f"Submission #{grade.submission_id} counts: {grade.why}."]
        if grade.lateness:
            lines.append(grade.lateness[0].upper() + grade.lateness[1:])
    lines += [f"Submission #{excluded.submission_id} does not count: {excluded.reason}." for excluded in grade.excluded]
    return lines


def submissions_table(submissions: list, counted: set[int], public_scores: dict[int, str]) -> pd.DataFrame:
    """The student's submissions, newest first; `public_scores` replaces the score of those whose
    hidden results are not released yet."""
    return pd.DataFrame([{
        "#": s.id,
        "assignment": s.assignment,
        "file": s.filename,
        "submitted (UTC)": s.submitted_at,
        "status": s.status,
        "score": public_scores.get(s.id, score_text(s.score, s.max_score)),
        "counts": "yes" if s.id in counted else "",
    } for s in reversed(submissions)])


def show_submissions(student_id: str, polling: bool) -> None:
    gradebook, course, at = common.load_reader(), common.load_course(), common.now()
    submissions = gradebook.submissions(student_id=student_id)
    if not submissions:
        st.info("You have no submissions yet. Upload one on the Submit page.")
        return
    if polling and not any(s.status in common.PENDING for s in submissions):
        st.rerun()  # everything is graded: draw the page once more, without polling
    granted = [e for e in gradebook.extensions() if e.student_id == student_id]
    grades = {grade.assignment: grade for grade in final_grades(course, submissions, granted)}
    withheld = {s.assignment: common.withheld_sentence(course, student_id, s.assignment, at, granted)
                for s in submissions}
    public_scores = {}
    for s in submissions:
        # A submission queued for a regrade still shows its current grading: withheld the same way.
        if withheld[s.assignment] is not None and s.grading is not None and s.grading.status == "done":
            public_scores[s.id] = f"{common.public_score_text(gradebook.check_results(s.id))} (public checks)"

    for assignment in dict.fromkeys(s.assignment for s in submissions):
        with st.container(border=True):
            st.subheader(assignment)
            st.text(common.due_line(course, student_id, assignment, granted))
            grade = grades.get(assignment)
            if grade is None:
                st.text("Not graded yet.")
            else:
                if withheld[assignment] is not None:
                    grade = common.without_hidden(grade, gradebook.check_results(grade.submission_id)
                                                  if grade.status == "done" else [])
                for line in grade_lines(grade, withheld[assignment] is not None):
                    st.text(line)
            if withheld[assignment] is not None:
                st.caption(withheld[assignment])

    counted = {grade.submission_id for grade in grades.values()}
    st.dataframe(submissions_table(submissions, counted, public_scores), hide_index=True,
                 column_config={"submitted (UTC)": common.UTC_MINUTES})
    by_id = {s.id: s for s in reversed(submissions)}
    chosen = st.selectbox("Feedback for submission", list(by_id), key="feedback_for", format_func=lambda i: (
        f"#{i} · {by_id[i].assignment} · {by_id[i].submitted_at:%Y-%m-%d %H:%M} UTC"))
    submission = by_id[chosen]
    common.show_feedback(gradebook, submission, withheld[submission.assignment])
    show_report(gradebook, submission, withheld[submission.assignment])


def show_report(gradebook: Gradebook, submission: SubmissionRow, withheld: str | None) -> None:
    """The report of the grading the student sees, under its feedback: its hidden figures withheld as
    its hidden checks are, until the course releases them."""
    if submission.status != "done" or submission.grading is None or submission.grading.status != "done":
        return  # still being graded (its feedback says so), or a grader error: nothing was drawn
    checks = gradebook.check_results(submission.id)
    if withheld is not None:
        checks = [check for check in checks if not check.hidden]
    with st.expander(report.STUDENT_TITLE):
        report.show(submission.id, submission.grading.id, checks, hidden_shown=withheld is None)


st.title("My submissions")
student_id = common.require_student()

pending = any(s.status in common.PENDING for s in common.load_reader().submissions(student_id=student_id))
st.fragment(show_submissions, run_every=common.POLL_SECONDS if pending else None)(student_id, pending)
