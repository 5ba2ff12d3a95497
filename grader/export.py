"""Final grades out of the gradebook: a CSV for the course, Gradescope's results.json, Canvas's import CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, TextIO

from grader.course import Course, FinalGrade, final_grades
from grader.results import CheckResult, GradingReport

if TYPE_CHECKING:
    from grader.store import Gradebook
    from grader.store.rows import StudentRow, SubmissionRow

FORMATS = ("csv", "gradescope", "canvas")

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
# Canvas's own exports write the row under the header with the label indented so.
CANVAS_POINTS_POSSIBLE = "    Points Possible"


def export(gradebook: Gradebook, course: Course, output_format: Literal["csv", "gradescope", "canvas"],
           assignment: str | None, out: TextIO) -> list[str]:
    """What `export --format` and the instructor page write: final grades of `assignment` (None: all;
    gradescope needs one) out of the gradebook. Returns the student ids left out (gradescope only)."""
    if output_format not in FORMATS:
        raise ValueError(f"Expected a format among {', '.join(FORMATS)}. Received {output_format!r}.")
    if output_format == "gradescope" and assignment is None:
        raise ValueError("Expected an assignment: Gradescope's results.json is per assignment. Received assignment=None.")
    submissions = gradebook.finished(assignment)
    grades = final_grades(course, submissions, gradebook.extensions())
    if output_format == "canvas":
        export_canvas(grades, gradebook.students(), course, out)
        return []
    if assignment is None:
        export_csv(grades, gradebook.students(), out)
        return []
    checks = {grade.submission_id: gradebook.check_results(grade.submission_id)
              for grade in grades if grade.submission_id is not None}
    if output_format == "gradescope":
        return export_gradescope(grades, {row.id: row for row in submissions}, checks, assignment, out)
    export_csv(grades, gradebook.students(), out, assignment, checks)
    return []


def export_csv(grades: Sequence[FinalGrade], students: Sequence[StudentRow], out: TextIO,
               assignment: str | None = None, checks: Mapping[int, Sequence[CheckResult]] | None = None) -> None:
    """Writes final grades as CSV; an empty cell is "no score" (a grader error, or nothing counted), never a zero.

    Without an assignment: student_id, display_name, one column per assignment (the final score), total;
    one row per student. With one: student_id, display_name, score (final), raw_score, penalty (the
    fraction taken off), max_score, late (the lateness line), counted (the rule that chose it),
    submission_id, submitted_at (ISO-8601, UTC), not_counted (the finished submissions outside the
    window and why: "#7 submitted after lenet5 closed at ..."), then one column per check (the points
    of the counted submission, from `checks`: submission id -> its check results); one row per
    student with a grade.
    """
    writer = csv.writer(out, lineterminator="\n")
    names = {student.id: student.display_name or "" for student in students}
    if assignment is None:
        assignments = sorted({grade.assignment for grade in grades})
        scores = {(grade.student_id, grade.assignment): grade.score for grade in grades}
        writer.writerow(["student_id", "display_name", *assignments, "total"])
        for student in students:
            row = [scores.get((student.id, name)) for name in assignments]
            total = round(sum((score for score in row if score is not None), 0.0), 2)
            writer.writerow([student.id, names[student.id], *_cells(row), total])
        return

    grades = [grade for grade in grades if grade.assignment == assignment]
    checks = checks or {}
    counted = {grade.student_id: checks.get(grade.submission_id, ()) for grade in grades}
    # Columns follow the assignment's check order; a check only some gradings had still gets one.
    check_names = list(dict.fromkeys(check.name for results in counted.values() for check in results))
    writer.writerow(["student_id", "display_name", "score", "raw_score", "penalty", "max_score", "late",
                     "counted", "submission_id", "submitted_at", "not_counted", *check_names])
    for grade in sorted(grades, key=lambda g: g.student_id):
        points = {check.name: check.points for check in counted[grade.student_id]}
        submitted_at = grade.submitted_at.isoformat() if grade.submitted_at else None
        writer.writerow([grade.student_id, names.get(grade.student_id, ""),
                         *_cells([grade.score, grade.raw_score, grade.penalty, grade.max_score, grade.lateness,
                                  grade.why, grade.submission_id, submitted_at,
                                  "; ".join(f"#{e.submission_id} {e.reason}" for e in grade.excluded) or None]),
                         *_cells([points.get(name) for name in check_names])])


def export_gradescope(grades: Sequence[FinalGrade], submissions: Mapping[int, SubmissionRow],
                      checks: Mapping[int, Sequence[CheckResult]], assignment: str, out: TextIO) -> list[str]:
    """Writes {student_id: results.json} of the counted submission of every student with a final score.

    "score" is the final grade (after the late penalty, which heads "output"), the tests are the counted
    submission's checks, and extra_data.submission_id names it (results.json allows extra_data).
    `submissions` and `checks` are keyed by submission id. Returns the ids left out, whose grade has
    no score (a grader error, or nothing counted): Gradescope would read a missing score as zero.
    """
    exported, left_out = {}, []
    for grade in sorted((g for g in grades if g.assignment == assignment), key=lambda g: g.student_id):
        if grade.status != "done" or grade.submission_id is None:
            left_out.append(grade.student_id)
            continue
        submission = submissions[grade.submission_id]
        result = GradingReport(
            assignment=assignment,
            student=grade.student_id,
            checks=list(checks[grade.submission_id]),
            notes=list(submission.notes),
            device=submission.device or "",
            execution_seconds=submission.execution_seconds or 0.0,
            grader_version=submission.grader_version or "",
        ).to_gradescope()
        result["score"] = grade.score
        result["output"] = "\n".join(line for line in (grade.lateness, result["output"]) if line)
        result["extra_data"] = {"submission_id": grade.submission_id}
        exported[grade.student_id] = result
    json.dump(exported, out, indent=2)
    out.write("\n")
    return left_out


def export_canvas(grades: Sequence[FinalGrade], students: Sequence[StudentRow], course: Course, out: TextIO,
                  points_possible: Mapping[str, float] | None = None) -> None:
    """Writes Canvas's gradebook import CSV of the final scores: one row per student, one column per assignment.

    The format, from Canvas's instructor guide "How do I import grades in the Gradebook?"
    (https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807)
    and Ohio State's "Import a CSV File to Carmen Grades"
    (https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades):
    the columns Student, ID, SIS User ID, SIS Login ID, Section, then one per assignment; Canvas finds
    the student by any one of name, ID or SIS User ID, so the student id goes in SIS User ID (and the
    display name, or the id, in Student) and the Canvas-only ID, login and section stay empty. An
    assignment column headed "Name (canvas id)", as a Canvas export writes it, fills that assignment; any
    other header creates a new assignment. The header is the assignment's canvas_column in course.toml,
    else its name. The row under the header gives each column's Points Possible: `points_possible`, else
    the largest max_score among the grades. An empty cell is no score (a grader error, or nothing
    counted), never a zero.
    """
    assignments = sorted({grade.assignment for grade in grades})
    headers = [course.policy(name).canvas_column or name for name in assignments]
    possible: dict[str, float] = {}
    for grade in grades:
        if grade.max_score is not None:
            possible[grade.assignment] = max(possible.get(grade.assignment, 0.0), grade.max_score)
    possible.update(points_possible or {})
    scores = {(grade.student_id, grade.assignment): grade.score for grade in grades}
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CANVAS_IDENTITY, *headers])
    writer.writerow([CANVAS_POINTS_POSSIBLE, "", "", "", "", *_cells([possible.get(name) for name in assignments])])
    for student in students:
        writer.writerow([student.display_name or student.id, "", student.id, "", "",
                         *_cells([scores.get((student.id, name)) for name in assignments])])


def _cells(values: list) -> list:
    return ["" if value is None else value for value in values]
