"""Exports of final grades against fixture files: the course CSV, one assignment's CSV, Gradescope's JSON, Canvas's CSV."""

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from grader.course import NO_COURSE, final_grades, final_grades_of
from grader.export import export, export_canvas, export_csv, export_gradescope
from grader.intake import Artifact
from grader.results import CheckResult, GradingReport
from grader.store import Gradebook
from tests.grader.course.factory import COURSE_TOML, at, course, student, submission

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exports"

STUDENTS = [student("s01", "Ada Lovelace"), student("s02"), student("s03", "Never Submitted"), student("s05", "Lin, Na")]


def checks(builds: float, accuracy: float) -> list[CheckResult]:
    return [CheckResult("builds", builds, 1.0, "passed" if builds else "failed", "ok" if builds else "no layer named conv1"),
            CheckResult.scored("accuracy", 9.0, accuracy / 9.0, f"accuracy {accuracy}/9", hidden=True)]


# lenet5 (course.toml of tests/grader/course/factory.py): due 2026-12-15 23:59, -10% a day, closes 2026-12-18
# 23:59, the last counts; s05 has until 2026-12-17 23:59. resnet: the best counts.
SUBMISSIONS = [
    submission(1, "s01", "lenet5", at("2026-12-10 12:00"), score=6.0),
    submission(2, "s01", "lenet5", at("2026-12-16 12:00"), score=8.0),     # one day late: 7.2
    submission(3, "s02", "lenet5", at("2026-12-14 09:30"), score=3.0),
    submission(4, "s05", "lenet5", at("2026-12-17 20:00"), score=9.0),     # on time with the extension
    submission(7, "s05", "lenet5", at("2026-12-19 08:00"), score=10.0),    # after the close: does not count
    submission(5, "s01", "resnet", at("2026-12-15 10:00"), score=10.0),
    submission(6, "s02", "resnet", at("2026-12-15 11:00"), status="error"),
]
CHECKS = {1: checks(1.0, 5.0), 2: checks(1.0, 7.0), 3: checks(0.0, 3.0), 4: checks(1.0, 8.0), 7: checks(1.0, 9.0),
          5: [CheckResult("param_count", 10.0, 10.0, "passed", "ok")], 6: []}


@pytest.fixture
def grades():
    return final_grades(course(), SUBMISSIONS)


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_course_csv_has_the_final_score_per_assignment_and_a_total(grades):
    out = io.StringIO()
    export_csv(grades, STUDENTS, out)
    assert out.getvalue() == fixture_text("final.csv")


def test_assignment_csv_has_raw_score_penalty_and_the_counted_submission(grades):
    out = io.StringIO()
    export_csv(grades, STUDENTS, out, "lenet5", CHECKS)
    assert out.getvalue() == fixture_text("final-lenet5.csv")
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert (rows["s01"]["raw_score"], rows["s01"]["penalty"], rows["s01"]["score"]) == ("8.0", "0.1", "7.2")
    # The late one after the close is not what counted for s05.
    assert rows["s05"]["submission_id"] == "4"


def test_assignment_csv_leaves_the_score_of_a_grader_error_empty(grades):
    out = io.StringIO()
    export_csv(grades, STUDENTS, out, "resnet", CHECKS)
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert (rows["s02"]["score"], rows["s02"]["raw_score"], rows["s02"]["submission_id"]) == ("", "", "6")
    assert rows["s01"]["param_count"] == "10.0" and rows["s02"]["param_count"] == ""


def test_gradescope_export_is_the_counted_submissions_results_json_with_its_id(grades):
    out = io.StringIO()
    left_out = export_gradescope(grades, {row.id: row for row in SUBMISSIONS}, CHECKS, "lenet5", out)
    assert left_out == []
    assert out.getvalue() == fixture_text("gradescope-lenet5.json")
    ada = json.loads(out.getvalue())["s01"]
    # The score is the final grade; the tests stay the counted submission's checks, worth 8 before penalty.
    assert (ada["score"], sum(test["score"] for test in ada["tests"]), ada["extra_data"]) == (7.2, 8.0, {"submission_id": 2})
    assert ada["output"].splitlines()[0] == "late by 12 h 1 min (1 started day): -10%"


def test_gradescope_export_leaves_out_grader_errors_and_says_so(grades):
    out = io.StringIO()
    left_out = export_gradescope(grades, {row.id: row for row in SUBMISSIONS}, CHECKS, "resnet", out)
    assert left_out == ["s02"]
    assert list(json.loads(out.getvalue())) == ["s01"]


def test_canvas_export_is_canvas_import_csv_with_points_possible(grades):
    out = io.StringIO()
    export_canvas(grades, STUDENTS, course(), out)
    assert out.getvalue() == fixture_text("canvas.csv")
    header, points, *rows = csv.reader(io.StringIO(out.getvalue()))
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "lenet5", "resnet"]
    assert points == ["    Points Possible", "", "", "", "", "10.0", "10.0"]
    assert [row[2] for row in rows] == ["s01", "s02", "s03", "s05"]


def test_canvas_columns_follow_course_toml_and_points_possible_can_be_given(grades):
    named = course(COURSE_TOML.replace('late_until = "2026-12-18T23:59:00+08:00"\n',
                                       'late_until = "2026-12-18T23:59:00+08:00"\ncanvas_column = "LeNet-5 (123456)"\n'))
    out = io.StringIO()
    export_canvas(grades, STUDENTS, named, out, points_possible={"resnet": 20.0})
    header, points, *_ = csv.reader(io.StringIO(out.getvalue()))
    assert header[5:] == ["LeNet-5 (123456)", "resnet"] and points[5:] == ["10.0", "20.0"]


def test_without_a_course_the_exports_are_todays(tmp_path):
    """A real gradebook, no course.toml: the last finished submission counts, no penalty."""
    with Gradebook(f"sqlite:///{tmp_path / 'grades.db'}") as book:
        book.ensure_student("s001", "Ada Lovelace")
        book.ensure_student("s003", "Never Submitted")
        for content, score, when in ((b"first", 9.0, "2026-12-10 12:00"), (b"second", 3.5, "2026-12-30 12:00")):
            submission_id, _ = book.add_submission("s001", "lenet5", Artifact.of("sub.py", content),
                                                   submitted_at=at(when), time_source="flag")
            book.record_report(submission_id, GradingReport("lenet5", "s001", [
                CheckResult("builds", score, 10.0, "partial", "ok")], grader_version="v1"))
        broken, _ = book.add_submission("s003", "resnet", Artifact.of("sub.py", b"broken"),
                                        submitted_at=at("2026-12-10 12:00"), time_source="flag")
        book.record_error(broken, "The autograder failed on your code.", "Traceback ...")

        grades = final_grades_of(book, NO_COURSE)
        out = io.StringIO()
        export_csv(grades, book.students(), out)
        assert list(csv.reader(io.StringIO(out.getvalue()))) == [
            ["student_id", "display_name", "lenet5", "resnet", "total"],
            ["s001", "Ada Lovelace", "3.5", "", "3.5"],
            # A grader error is an empty cell, not a zero.
            ["s003", "Never Submitted", "", "", "0.0"],
        ]
        [lenet5, resnet] = grades
        assert (lenet5.submission_id, lenet5.why, lenet5.penalty) == (2, "last of 2", 0.0)
        assert (resnet.status, resnet.score) == ("error", None)
        assert lenet5.submitted_at == at("2026-12-30 12:00") and lenet5.submitted_at.utcoffset() == timedelta(0)

        written = {}
        for output_format, assignment in (("csv", None), ("csv", "lenet5"), ("gradescope", "resnet"), ("canvas", None)):
            out = io.StringIO()
            written[output_format, assignment] = (export(book, NO_COURSE, output_format, assignment, out), out.getvalue())
        assert written["csv", None] == ([], "student_id,display_name,lenet5,resnet,total\n"
                                            "s001,Ada Lovelace,3.5,,3.5\ns003,Never Submitted,,,0.0\n")
        left_out, lenet5_csv = written["csv", "lenet5"]
        assert next(csv.DictReader(io.StringIO(lenet5_csv))) | {"submitted_at": "..."} == {
            "student_id": "s001", "display_name": "Ada Lovelace", "score": "3.5", "raw_score": "3.5", "penalty": "0.0",
            "max_score": "10.0", "late": "", "counted": "last of 2", "submission_id": "2", "submitted_at": "...",
            "not_counted": "", "builds": "3.5"}
        assert written["gradescope", "resnet"] == (["s003"], "{}\n")
        assert written["canvas", None][1].splitlines()[2] == "Ada Lovelace,,s001,,,3.5,"


@pytest.mark.parametrize("output_format, assignment, message", [
    ("xlsx", None, "Expected a format among csv, gradescope, canvas. Received 'xlsx'."),
    ("gradescope", None, "Expected an assignment: Gradescope's results.json is per assignment."),
])
def test_export_refuses_what_it_cannot_write(tmp_path, output_format, assignment, message):
    with Gradebook(f"sqlite:///{tmp_path / 'grades.db'}") as book, pytest.raises(ValueError, match=message):
        export(book, NO_COURSE, output_format, assignment, io.StringIO())
