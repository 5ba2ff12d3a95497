"""`scoreboard` and `export`: final grades ranked with shared ties, the accuracy board, the three formats."""

import csv
import io
import json
from datetime import datetime, timezone

import pytest

from grader import cli
from grader.cli.options import USAGE_ERROR
from grader.intake import Artifact
from grader.results import CheckResult, GradingReport
from grader.store import Gradebook

ON_TIME = datetime(2026, 11, 25, tzinfo=timezone.utc)
LATE = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)  # 1 h 1 min after the due date: -10%


def graded(gradebook: Gradebook, student: str, points: float, when: datetime, accuracy: int | None = None) -> int:
    submission_id, _ = gradebook.add_submission(student, "conv_ops", Artifact.of(f"{student}.py", student.encode()),
                                                submitted_at=when, time_source="flag")
    checks = [CheckResult.scored("conv2d", 30, points / 30, "ok")]
    if accuracy is not None:
        checks.append(CheckResult.scored("accuracy", 0.0001, 1.0, "ok", hidden=True, measures={
            "correct": accuracy, "total": 2000, "public_correct": accuracy // 2, "public_total": 1000}))
    gradebook.record_report(submission_id, GradingReport("conv_ops", student, checks, grader_version="v1"))
    return submission_id


@pytest.fixture
def class_of_four(env):
    options, db = env
    with Gradebook(db) as gradebook:
        graded(gradebook, "s01", 30, ON_TIME, accuracy=1990)
        graded(gradebook, "s02", 20, ON_TIME, accuracy=1700)
        graded(gradebook, "s03", 20, ON_TIME, accuracy=1702)
        graded(gradebook, "s04", 30, LATE)  # 27 after the penalty
        pseudonyms = {s.id: s.pseudonym for s in gradebook.students()}
    return options, pseudonyms


def test_the_scoreboard_ranks_final_grades_and_ties_share_a_rank(class_of_four, capsys):
    options, pseudonyms = class_of_four
    assert cli.main(["scoreboard", *options]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[1]: line.split()[0] for line in out.splitlines()[2:6]}
    assert rows == {pseudonyms["s01"]: "1", pseudonyms["s04"]: "2", pseudonyms["s02"]: "3", pseudonyms["s03"]: "3"}
    assert "27/30 (raw 30)" in out
    for student in pseudonyms:
        assert student not in out, "the scoreboard shows pseudonyms, never ids"


def test_the_scoreboard_ranks_the_accuracy_itself_with_overlapping_intervals_tied(class_of_four, capsys):
    options, pseudonyms = class_of_four
    assert cli.main(["scoreboard", *options]) == 0
    board = capsys.readouterr().out.split("accuracy leaderboard")[1]
    assert "the private half decides" in board or "private half" in board
    lines = [line.split() for line in board.splitlines()[1:] if line.strip()]
    assert [(line[0], line[1]) for line in lines] == [
        ("1", pseudonyms["s01"]), ("2=", pseudonyms["s03"]), ("2=", pseudonyms["s02"])]
    assert lines[0][2] == "99.50%"


def test_export_writes_each_format(class_of_four, tmp_path, capsys):
    options, _ = class_of_four
    out = tmp_path / "grades.csv"
    assert cli.main(["export", "--format", "csv", "--out", str(out), *options]) == 0
    rows = list(csv.DictReader(out.open()))
    assert {row["student_id"]: row["conv_ops"] for row in rows}["s04"] == "27.0"
    assert cli.main(["export", "--format", "gradescope", "-a", "conv_ops", *options]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["s04"]["score"] == 27.0 and results["s04"]["extra_data"]["submission_id"] == 4
    assert cli.main(["export", "--format", "canvas", *options]) == 0
    canvas = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def test_gradescope_needs_an_assignment(env, capsys):
    options, _ = env
    assert cli.main(["export", "--format", "gradescope", *options]) == USAGE_ERROR
    assert "needs --assignment" in capsys.readouterr().err


def test_assignments_lists_the_courses_window_and_late_policy(env, capsys):
    options, _ = env
    assert cli.main(["assignments", options[2], options[3]]) == 0
    assert ("opens 2026-11-16 08:00, due 2026-11-30 23:59, -10% per started day late, closes 2026-12-05 23:59 "
            "(Asia/Shanghai)") in capsys.readouterr().out
