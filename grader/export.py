"""Grades out of the gradebook: a CSV for the course's spreadsheet and Gradescope's results.json."""

from __future__ import annotations

import csv
import json
from typing import TextIO

from grader.results import GradingReport
from grader.store import Gradebook


def export_csv(gradebook: Gradebook, assignment: str | None, out: TextIO) -> None:
    """Writes one row per student with the latest scores; an empty cell is "not graded" (or a grader error).

    Without an assignment: student_id, display_name, one column per assignment, total.
    With one: student_id, display_name, score, max_score, graded_at, one column per check (points).
    """
    writer = csv.writer(out, lineterminator="\n")
    results = gradebook.latest_results(assignment)
    if assignment is None:
        assignments = sorted({row["assignment"] for row in results})
        scores = {(row["student_id"], row["assignment"]): row["score"] for row in results}
        writer.writerow(["student_id", "display_name", *assignments, "total"])
        for student in gradebook.students():
            row = [scores.get((student["id"], name)) for name in assignments]
            total = round(sum((score for score in row if score is not None), 0.0), 2)
            writer.writerow([student["id"], student["display_name"] or "", *_cells(row), total])
        return

    checks = {row["student_id"]: gradebook.check_results(row["submission_id"]) for row in results}
    # Columns follow the assignment's check order; a check only some gradings had still gets one.
    check_names = list(dict.fromkeys(check.name for student_checks in checks.values() for check in student_checks))
    writer.writerow(["student_id", "display_name", "score", "max_score", "graded_at", *check_names])
    for row in results:
        points = {check.name: check.points for check in checks[row["student_id"]]}
        graded_at = row["graded_at"].isoformat() if row["graded_at"] else None
        writer.writerow([row["student_id"], row["display_name"] or "",
                         *_cells([row["score"], row["max_score"], graded_at]),
                         *_cells([points.get(name) for name in check_names])])


def export_gradescope(gradebook: Gradebook, assignment: str, out: TextIO) -> list[str]:
    """Writes {student_id: results.json} for every student whose latest grading is done.

    Returns the ids left out because the grader failed on their latest submission: Gradescope
    would read a missing score as zero, and a grader fault is not the student's zero.
    """
    exported, left_out = {}, []
    submissions = {row["id"]: row for row in gradebook.submissions(assignment=assignment)}
    for row in gradebook.latest_results(assignment):
        if row["status"] != "done":
            left_out.append(row["student_id"])
            continue
        submission = submissions[row["submission_id"]]
        report = GradingReport(
            assignment=assignment,
            student=row["student_id"],
            checks=gradebook.check_results(row["submission_id"]),
            notes=submission["notes"] or [],
            device=submission["device"] or "",
            execution_seconds=submission["execution_seconds"] or 0.0,
            grader_version=submission["grader_version"] or "",
        )
        exported[row["student_id"]] = report.to_gradescope()
    json.dump(exported, out, indent=2)
    out.write("\n")
    return left_out


def _cells(values: list) -> list:
    return ["" if value is None else value for value in values]
