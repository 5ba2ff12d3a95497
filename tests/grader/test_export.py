"""Exports: the course CSV, the per-assignment CSV with one column per check, and Gradescope's JSON."""

import csv
import hashlib
import io
import json
from datetime import datetime

import pytest

from grader.export import export_csv, export_gradescope
from grader.results import CheckResult, GradingReport
from grader.store import Gradebook


def grade(gradebook, student, assignment, content, checks, version="v1"):
    submission_id, _ = gradebook.add_submission(student, assignment, "sub.py", content,
                                                hashlib.sha256(content).hexdigest())
    gradebook.record_report(submission_id, GradingReport(
        assignment, student, checks, notes=["graded on CPU"], execution_seconds=12.34, grader_version=version))
    return submission_id


@pytest.fixture
def gradebook(tmp_path):
    with Gradebook(f"sqlite:///{tmp_path / 'grades.db'}") as book:
        book.ensure_student("s001", "Ada Lovelace")
        book.ensure_student("s002")
        book.ensure_student("s003", "Never Submitted")
        grade(book, "s001", "lenet5", b"first try", [CheckResult("builds", 1.0, 1.0, "passed", "ok")])
        grade(book, "s001", "lenet5", b"second try", [
            CheckResult("builds", 1.0, 1.0, "passed", "ok"),
            CheckResult("accuracy", 2.5, 4.0, "partial", "got 0.91, expected >= 0.98", hidden=True)])
        grade(book, "s002", "lenet5", b"other", [
            CheckResult("builds", 0.0, 1.0, "failed", "no layer named conv1"),
            CheckResult("accuracy", 0.0, 4.0, "error", "timed out after 60 s")])
        grade(book, "s001", "resnet", b"resnet", [CheckResult("param_count", 3.0, 3.0, "passed", "ok")])
        broken, _ = book.add_submission("s002", "resnet", "sub.py", b"broken", hashlib.sha256(b"broken").hexdigest())
        book.record_error(broken, "The autograder failed on your code.", "Traceback ...")
        yield book


def read_csv(gradebook, assignment):
    out = io.StringIO()
    export_csv(gradebook, assignment, out)
    return list(csv.reader(io.StringIO(out.getvalue())))


def test_course_csv_has_a_column_per_assignment_and_a_total(gradebook):
    assert read_csv(gradebook, None) == [
        ["student_id", "display_name", "lenet5", "resnet", "total"],
        ["s001", "Ada Lovelace", "3.5", "3.0", "6.5"],
        # A grader error is an empty cell, not a zero.
        ["s002", "", "0.0", "", "0.0"],
        ["s003", "Never Submitted", "", "", "0.0"],
    ]


def test_assignment_csv_has_a_column_per_check_in_assignment_order(gradebook):
    header, *rows = read_csv(gradebook, "lenet5")
    assert header == ["student_id", "display_name", "score", "max_score", "graded_at", "builds", "accuracy"]
    assert [row[:4] + row[5:] for row in rows] == [
        ["s001", "Ada Lovelace", "3.5", "5.0", "1.0", "2.5"],
        ["s002", "", "0.0", "5.0", "0.0", "0.0"],
    ]
    assert all(datetime.fromisoformat(row[4]).tzinfo is not None for row in rows)


def test_assignment_csv_leaves_the_score_of_a_grader_error_empty(gradebook):
    header, *rows = read_csv(gradebook, "resnet")
    assert header == ["student_id", "display_name", "score", "max_score", "graded_at", "param_count"]
    assert [row[:4] + row[5:] for row in rows] == [["s001", "Ada Lovelace", "3.0", "3.0", "3.0"],
                                                   ["s002", "", "", "", ""]]


def test_gradescope_export_has_results_json_per_student(gradebook):
    out = io.StringIO()
    left_out = export_gradescope(gradebook, "lenet5", out)
    results = json.loads(out.getvalue())

    assert left_out == [] and sorted(results) == ["s001", "s002"]
    ada = results["s001"]
    assert (ada["score"], ada["max_score"], ada["execution_time"], ada["output"]) == (3.5, 5.0, 12.3, "graded on CPU")
    assert ada["tests"] == [
        {"name": "builds", "score": 1.0, "max_score": 1.0, "status": "passed", "output": "ok", "visibility": "visible"},
        {"name": "accuracy", "score": 2.5, "max_score": 4.0, "status": "failed",
         "output": "got 0.91, expected >= 0.98", "visibility": "after_published"},
    ]
    assert [t["status"] for t in results["s002"]["tests"]] == ["failed", "failed"]


def test_gradescope_export_leaves_out_grader_errors_and_says_so(gradebook):
    out = io.StringIO()
    left_out = export_gradescope(gradebook, "resnet", out)
    assert left_out == ["s002"]
    assert list(json.loads(out.getvalue())) == ["s001"]
