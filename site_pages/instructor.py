"""Instructor: final grades with real names, submissions with their history, reports and regrades, extensions, exports."""

from __future__ import annotations

import functools
import io
from datetime import date, datetime, time

import pandas as pd
import streamlit as st

from grader.course import Course, CourseError, FinalGrade, due_for, final_grades_of, local_text
from grader.export import export
from grader.intake import safe_filename
from grader.pictures.audience import student_view
from grader.present import check_changes, plural, score_text, size_text
from grader.results import CheckResult
from grader.roster import RosterError, import_roster, read_roster, write_tokens
from grader.store import Gradebook
from grader.store.rows import ExtensionRow, GradingRow, SubmissionRow
from site_pages import common, report

EVERY_ASSIGNMENT = "every assignment"
EVERY_STUDENT = "every student"
TOKENS_KEY = "issued_tokens"
FLASH_KEY = "instructor_flash"
FROM_GRADEBOOK = "gradebook"
DEFAULT_UNTIL = time(23, 59)
GRADES, SUBMISSIONS, REGRADE, EXTENSIONS, EXPORT, ROSTER = TABS = (
    "Grades", "Submissions", "Regrade", "Extensions", "Exports", "Roster and tokens")
EXPORTS = (  # (format, button label, file name prefix, suffix, mime)
    ("csv", "Final grades (CSV)", "grades", "csv", "text/csv"),
    ("canvas", "Canvas grade import (CSV)", "canvas", "csv", "text/csv"),
    ("gradescope", "Gradescope results (JSON)", "gradescope", "json", "application/json"),
)


# --- tables ---

def local(course: Course, when: datetime | None) -> str | None:
    """A gradebook time (UTC) as the course reads it, for a column whose title names the timezone."""
    return None if when is None else local_text(course, when, zone=False)


def penalty_text(penalty: float) -> str:
    return f"-{round(penalty * 100, 2):g}%" if penalty else ""


def grades_table(grades: list[FinalGrade], names: dict[str, str | None], course: Course) -> pd.DataFrame:
    """One row per student and assignment: the final score, the raw score and penalty behind it, and
    which submission counts and why (and which do not)."""
    return pd.DataFrame([{
        "student_id": g.student_id,
        "display_name": names.get(g.student_id),
        "assignment": g.assignment,
        "score": g.score,
        "raw score": g.raw_score,
        "max_score": g.max_score,
        "penalty": penalty_text(g.penalty),
        "late": g.lateness,
        "counted": None if g.submission_id is None else f"#{g.submission_id}",
        "why": g.why,
        "status": g.status,
        f"submitted ({course.timezone})": local(course, g.submitted_at),
        "not counted": "; ".join(f"#{e.submission_id} {e.reason}" for e in g.excluded) or None,
    } for g in grades])


def submissions_table(submissions: list[SubmissionRow], course: Course) -> pd.DataFrame:
    """Every submission, newest first, with what the queue knows about it and its current grading."""
    return pd.DataFrame([{
        "#": s.id,
        "student_id": s.student_id,
        "assignment": s.assignment,
        "file": s.filename,
        "size": size_text(s.size_bytes),
        f"submitted ({course.timezone})": local(course, s.submitted_at),
        "time from": s.time_source,
        "status": s.status,
        "score": s.score,
        "max_score": s.max_score,
        "grading": None if s.grading is None else s.grading.id,
        "attempts": s.attempts,
        "worker": s.claimed_by,
        "seconds": s.execution_seconds,
    } for s in reversed(submissions)])


def history_table(gradings: list[GradingRow], course: Course) -> pd.DataFrame:
    """Every grading of one submission, oldest first; the current one (what the student sees) marked."""
    return pd.DataFrame([{
        "grading": g.id,
        f"graded ({course.timezone})": local(course, g.graded_at),
        "grader version": g.grader_version,
        "status": g.status,
        "score": score_text(g.score, g.max_score),
        "worker": g.worker_id,
        "seconds": g.execution_seconds,
        "current": "current" if g.is_current else "",
    } for g in gradings])


def history_changes(reader: Gradebook, submission_id: int, gradings: list[GradingRow]) -> list[str]:
    """What each grading changed against the one before it, one line per pair."""
    lines = []
    for before, after in zip(gradings, gradings[1:]):
        heading = f"#{before.id} -> #{after.id}"
        if "error" in (before.status, after.status):
            which = " and ".join(f"#{g.id}" for g in (before, after) if g.status == "error")
            lines.append(f"{heading}: {score_text(before.score, before.max_score)} -> "
                         f"{score_text(after.score, after.max_score)} ({which}: the grader failed)")
            continue
        changes = check_changes(reader.check_results(submission_id, before.id),
                                reader.check_results(submission_id, after.id))
        lines.append(f"{heading}: {'; '.join(changes)}" if changes else f"{heading}: no check changed")
    return lines


def checks_table(checks) -> pd.DataFrame:
    return pd.DataFrame([{"check": c.name, "points": c.points, "max_points": c.max_points, "status": c.status,
                          "hidden": c.hidden, "message": c.message} for c in checks],
                        columns=["check", "points", "max_points", "status", "hidden", "message"])


def extensions_table(granted: list[ExtensionRow], course: Course, names: dict[str, str | None]) -> pd.DataFrame:
    """The gradebook's extensions and course.toml's, each with where it comes from; a file's extension
    that one of the gradebook's replaces says so."""
    file_name = course.source.name if course.source else "course file"
    in_gradebook = {(e.student_id, e.assignment) for e in granted}
    rows = [(e.student_id, e.assignment, e.until, FROM_GRADEBOOK, e.granted_at) for e in granted]
    rows += [(student, assignment, until,
              f"{file_name} (replaced by the gradebook's)" if (student, assignment) in in_gradebook else file_name,
              None)
             for (student, assignment), until in course.extensions.items()]
    zone = course.timezone
    return pd.DataFrame([{
        "student_id": student,
        "display_name": names.get(student),
        "assignment": assignment,
        f"until ({zone})": local(course, until),
        f"due ({zone})": local(course, course.policy(assignment).due),
        "from": source,
        f"granted ({zone})": local(course, granted_at),
    } for student, assignment, until, source, granted_at in sorted(rows, key=lambda r: (r[1], r[0], r[3]))])


def export_text(reader: Gradebook, course: Course, output_format: str, assignment: str | None) -> str:
    out = io.StringIO()
    export(reader, course, output_format, assignment, out)
    return out.getvalue()


def tokens_csv(tokens: list[tuple[str, str]]) -> str:
    out = io.StringIO()
    write_tokens(tokens, out)
    return out.getvalue()


def changed(tab: str, *messages: tuple[str, str]) -> None:
    """After a write: clears the public pages' cached queries, keeps the (kind, text) messages for `tab`
    and reruns, so that every table on the page shows the gradebook as it is now."""
    st.cache_data.clear()
    st.session_state[FLASH_KEY] = (tab, messages)
    st.rerun()


def show_messages(tab: str) -> None:
    """The messages of the write that led to this run, in the tab where it was made."""
    if st.session_state.get(FLASH_KEY, ("",))[0] == tab:
        for kind, text in st.session_state.pop(FLASH_KEY)[1]:
            getattr(st, kind)(text)


def scope(choice: str, every: str) -> str | None:
    return None if choice == every else choice


# --- the tabs ---

def show_grades(reader: Gradebook, course: Course, names: dict[str, str | None]) -> None:
    grades = final_grades_of(reader, course)
    if not grades:
        st.info(common.NO_SUBMISSIONS)
        return
    st.dataframe(grades_table(grades, names, course), hide_index=True)
    if course.source is None:
        st.caption("No course file: no deadlines or penalties, the last graded submission counts.")
    else:
        st.caption(f"Deadlines, penalties and which submission counts: {course.source.name}, times in "
                   f"{course.timezone}. An empty score is no score (a grader error, or nothing counted), not a zero.")


def show_submissions(reader: Gradebook, gradebook: Gradebook, course: Course) -> None:
    submissions = reader.submissions()
    if not submissions:
        st.info("No submissions yet.")
        return
    statuses = pd.Series([s.status for s in submissions])
    for column, status in zip(st.columns(4), ("queued", "grading", "done", "error")):
        column.metric(status, int((statuses == status).sum()))
    st.dataframe(submissions_table(submissions, course), hide_index=True)

    by_id = {s.id: s for s in reversed(submissions)}
    chosen = st.selectbox("Submission", list(by_id), key="instructor_submission",
                          format_func=lambda i: f"#{i} · {by_id[i].student_id} · {by_id[i].assignment} · "
                                                f"{by_id[i].status}")
    submission = by_id[chosen]
    st.text(f"{submission.student_id}, {submission.assignment}: {submission.filename} "
            f"({size_text(submission.size_bytes)}), submitted {local_text(course, submission.submitted_at)} "
            f"({submission.time_source}); status {submission.status}")
    left, right = st.columns(2)
    left.download_button("Download the submitted file", functools.partial(reader.content, chosen),
                         file_name=safe_filename(submission.filename) or f"submission-{chosen}",
                         mime="application/octet-stream", on_click="ignore")
    if right.button("Regrade this submission"):
        gradebook.requeue(chosen)
        changed(SUBMISSIONS, ("success", f"Submission #{chosen} is queued for grading again; the student sees "
                                         "the current grading until the new one is recorded."))
    show_history(reader, gradebook, course, reader.submission(chosen))


def show_history(reader: Gradebook, gradebook: Gradebook, course: Course, submission: SubmissionRow) -> None:
    st.subheader(f"History of submission #{submission.id}")
    gradings = reader.gradings(submission.id)
    if not gradings:
        st.info(f"Submission #{submission.id} has not been graded yet.")
        return
    st.dataframe(history_table(gradings, course), hide_index=True)
    for line in history_changes(reader, submission.id, gradings):
        st.text(line)

    by_id = {g.id: g for g in reversed(gradings)}
    current = next((g.id for g in gradings if g.is_current), gradings[-1].id)
    grading_id = st.selectbox("Grading", list(by_id), index=list(by_id).index(current),
                              key=f"instructor_grading_{submission.id}",
                              format_func=lambda i: f"#{i} · {score_text(by_id[i].score, by_id[i].max_score)}"
                                                    f"{' · current' if by_id[i].is_current else ''}")
    grading = by_id[grading_id]
    if st.button("Revert to this grading", disabled=grading.is_current,
                 help="Students see this grading again; a regrade still waiting is cancelled."):
        try:
            gradebook.revert(submission.id, grading.id)
        except (LookupError, ValueError) as error:
            st.error(str(error))
        else:
            changed(SUBMISSIONS, ("success", f"Submission #{submission.id} now shows grading #{grading.id}: "
                                             f"{score_text(grading.score, grading.max_score)}."))
    for note in grading.notes:
        st.text(note)
    checks = reader.check_results(submission.id, grading.id)
    if checks:
        st.dataframe(checks_table(checks), hide_index=True)
    if grading.instructor_log:
        st.caption("Instructor log (never shown to the student)")
        st.code(grading.instructor_log, language=None)
    if grading.status == "done":
        show_report(reader, course, submission, grading, checks)


def show_report(reader: Gradebook, course: Course, submission: SubmissionRow, grading: GradingRow,
                checks: list[CheckResult]) -> None:
    """The grading's whole report (hidden figures included), what the student sees of it, and a zip of
    report.html with its PNGs, as `python -m grader report` writes them."""
    st.subheader(f"Report of grading #{grading.id}")
    top = st.container()
    shown = report.show(submission.id, grading.id, checks, hidden_shown=True)
    if shown is None:
        return
    student = reader.student(submission.student_id)
    name = None if student is None else student.display_name
    who = f"{submission.student_id} ({name})" if name else submission.student_id
    seen = student_view(course, submission, grading, reader.extensions(), common.now(),
                        has_hidden=any(check.hidden for check in checks))
    top.caption(seen)
    top.download_button(
        "Download the report (report.html and its PNGs, zip)",
        functools.partial(report.zip_of, submission.id, grading.id, checks=checks, notes=grading.notes, who=who,
                          title=f"{submission.assignment}: submission #{submission.id}, grading #{grading.id}",
                          staff_line=seen),
        file_name=f"report-{submission.id}-{grading.id}.zip", mime="application/zip", on_click="ignore",
        key=f"report_zip_{grading.id}")


def show_regrade(reader: Gradebook, gradebook: Gradebook, assignments: list[str]) -> None:
    st.write("Queue submissions for grading again, e.g. after fixing a check. The worker regrades them in "
             "the order they were submitted; every grading is kept, and students see the current one.")
    left, right = st.columns(2)
    student = scope(left.selectbox("Student", [EVERY_STUDENT, *(s.id for s in reader.students())],
                                   key="regrade_student"), EVERY_STUDENT)
    assignment = scope(right.selectbox("Assignment", [EVERY_ASSIGNMENT, *assignments], key="regrade_assignment"),
                       EVERY_ASSIGNMENT)
    count = len(reader.submissions(student_id=student, assignment=assignment))
    # The key names the choice, so that a confirmation never carries over to another one.
    confirmed = st.checkbox(f"Yes, regrade {plural(count, 'submission')}",
                            key=f"regrade_confirmed_{student}_{assignment}")
    if st.button("Regrade", disabled=not (confirmed and count)):
        requeued = gradebook.requeue_matching(student_id=student, assignment=assignment)
        changed(REGRADE, ("success", f"{plural(len(requeued), 'submission')} queued for grading again."))


def show_extensions(reader: Gradebook, gradebook: Gradebook, course: Course, assignments: list[str],
                    names: dict[str, str | None]) -> None:
    granted = reader.extensions()
    if granted or course.extensions:
        st.dataframe(extensions_table(granted, course, names), hide_index=True)
    else:
        st.info("No extensions.")
    st.caption("An extension is the student's own due date: later work is late from then on. One granted here "
               "replaces one in the course file, which is changed only by editing that file.")

    students = [s.id for s in reader.students()]
    if not students:
        st.info("No students yet: import the roster first.")
        return
    with st.form("grant_extension"):
        st.write(f"Grant an extension (the date and time are in {course.timezone})")
        left, right = st.columns(2)
        student = left.selectbox("Student", students, key="extension_student",
                                 format_func=lambda s: f"{s} · {names[s]}" if names[s] else s)
        assignment = right.selectbox("Assignment", assignments, key="extension_assignment")
        left, right = st.columns(2)
        until_day = left.date_input("Until (date)", value=common.now().astimezone(course.timezone).date(),
                                    key="extension_day")
        until_time = right.time_input("Until (time)", value=DEFAULT_UNTIL, step=60, key="extension_time")
        grant = st.form_submit_button("Grant the extension")
    if grant:
        grant_extension(gradebook, course, student, assignment, until_day, until_time)

    if granted:
        by_key = {(e.student_id, e.assignment): e for e in granted}
        key = st.selectbox("Extension to remove", list(by_key), key="extension_to_remove",
                           format_func=lambda k: f"{k[0]} · {k[1]} · until {local_text(course, by_key[k].until)}")
        if st.button("Remove the extension"):
            student, assignment = key
            if gradebook.remove_extension(student, assignment):
                due = due_for(course, student, assignment, reader.extensions())
                changed(EXTENSIONS, ("success", f"Removed the extension of {student} for {assignment}; their due "
                                                f"date is {local_text(course, due) if due else 'none'} now."))
            else:
                st.warning(f"{student} has no extension for {assignment} any more (removed meanwhile?).")


def grant_extension(gradebook: Gradebook, course: Course, student: str, assignment: str, until_day: date,
                    until_time: time) -> None:
    until = datetime.combine(until_day, until_time, tzinfo=course.timezone)
    try:
        gradebook.set_extension(student, assignment, until)
    except LookupError as error:
        st.error(str(error))
        return
    messages = [("success", f"{student} may submit {assignment} until {local_text(course, until)} without penalty.")]
    due = course.policy(assignment).due
    if due is None:
        messages.append(("warning", f"{assignment} has no due date in the course file, so the extension changes "
                                    "nothing yet."))
    elif due_for(course, student, assignment, gradebook.extensions()) != until:
        messages.append(("warning", f"That is before the assignment's own due date ({local_text(course, due)}), "
                                    "which stays in effect: an extension never shortens."))
    changed(EXTENSIONS, *messages)


def show_exports(reader: Gradebook, course: Course, assignments: list[str]) -> None:
    assignment = scope(st.selectbox("Export", [EVERY_ASSIGNMENT, *assignments], key="export_assignment"),
                       EVERY_ASSIGNMENT)
    st.caption("Final grades, as the course's policy makes them: late penalties applied, the submission that "
               "counts. An empty cell is no score (a grader error, or nothing counted), never a zero.")
    for output_format, label, prefix, suffix, mime in EXPORTS:
        if output_format == "gradescope" and assignment is None:
            st.caption("Gradescope results are per assignment: choose one above.")
            continue
        # Built when clicked: the page reruns on every click in every tab, and an export reads every check.
        st.download_button(label, functools.partial(export_text, reader, course, output_format, assignment),
                           file_name=f"{prefix}-{assignment or 'all'}.{suffix}", mime=mime, on_click="ignore")
    if assignment is not None:
        # The students export_gradescope leaves out: Gradescope would read a missing score as a zero.
        left_out = [g.student_id for g in final_grades_of(reader, course, assignment) if g.status != "done"]
        if left_out:
            st.warning("Left out of the Gradescope results: their final grade has no score (the grader failed "
                       "on the submission that counts, or none counts). Regrade them first.")
            st.dataframe(pd.DataFrame({"student_id": left_out}), hide_index=True)


def show_roster(gradebook: Gradebook) -> None:
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
            changed(ROSTER, ("success", f"{len(imported.added)} students added, {len(imported.renamed)} renamed, "
                                        f"{len(imported.tokens)} tokens issued."))
    tokens = st.session_state.get(TOKENS_KEY)
    if tokens:
        st.warning("Save these tokens now: they are shown only in this session and cannot be recovered.")
        st.dataframe(pd.DataFrame(tokens, columns=["student_id", "token"]), hide_index=True)
        st.download_button("Download the tokens (CSV)", tokens_csv(tokens), file_name="tokens.csv",
                           mime="text/csv", on_click="ignore")
        if st.button("I have saved them: hide the tokens"):
            del st.session_state[TOKENS_KEY]
            st.rerun()


# --- the page ---

st.title("Instructor")
common.require_instructor()
gradebook = common.load_gradebook()
reader = common.load_reader()
try:
    course = common.load_course()
except CourseError as error:
    st.error("The course file cannot be read, so final grades and deadlines cannot be shown.")
    st.code(str(error), language=None)
    st.stop()
assignment_names = list(common.load_assignments())
student_names = {s.id: s.display_name for s in reader.students()}

grades_tab, submissions_tab, regrade_tab, extensions_tab, exports_tab, roster_tab = st.tabs(list(TABS))
with grades_tab:
    show_grades(reader, course, student_names)
with submissions_tab:
    show_messages(SUBMISSIONS)
    show_submissions(reader, gradebook, course)
with regrade_tab:
    show_messages(REGRADE)
    show_regrade(reader, gradebook, assignment_names)
with extensions_tab:
    show_messages(EXTENSIONS)
    show_extensions(reader, gradebook, course, assignment_names, student_names)
with exports_tab:
    show_exports(reader, course, assignment_names)
with roster_tab:
    show_messages(ROSTER)
    show_roster(gradebook)
