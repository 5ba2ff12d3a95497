"""`report`: a submission's (or a student's counted submission's) report written to a folder, or a sentence why not."""

from datetime import datetime, timezone
from html import escape

import numpy as np
import pytest
from PIL import Image

from grader import cli
from grader.cli.options import USAGE_ERROR
from grader.config import REPO_ROOT
from grader.intake import Artifact
from grader.pictures.figures import Figures, LayerRow
from grader.results import CheckResult, GradingReport
from grader.store import Gradebook

EARLY = datetime(2026, 11, 20, tzinfo=timezone.utc)
LATER = datetime(2026, 11, 24, tzinfo=timezone.utc)
FIGURES = Figures(layers=(LayerRow("c1", "Conv2D", [None, 32, 32, 6], 156, [None, 28, 28, 6], 156),),
                  kernel_layer="c1", kernels=np.random.default_rng(0).normal(size=(5, 5, 1, 6)),
                  confusion=np.diag(np.full(10, 200)))
CHECKS = [CheckResult.scored("layer output shapes", 4, 0.0,
                             "Layer 'c1': output shape got (None, 32, 32, 6), expected (None, 28, 28, 6)."),
          CheckResult.scored("accuracy", 8, 1.0, "Accuracy 99%.", hidden=True)]
LENET5_DUE_LATER = """
timezone = "Asia/Shanghai"

[assignments.lenet5]
due = "2099-01-01T23:59:00+08:00"
release = "after_due"
"""


def submit(gradebook: Gradebook, student: str, when: datetime, figures: Figures | None = FIGURES,
           content: bytes = b"model") -> int:
    submission_id, _ = gradebook.add_submission(student, "lenet5", Artifact.of("lenet5.py", content + when.isoformat().encode()),
                                                submitted_at=when, time_source="flag")
    gradebook.record_report(submission_id, GradingReport("lenet5", student, CHECKS, notes=["Trained on the CPU."],
                                                         grader_version="v1", figures=figures))
    return submission_id


@pytest.fixture
def book(env):
    options, db = env
    with Gradebook(db) as gradebook:
        first = submit(gradebook, "s01", EARLY)
        last = submit(gradebook, "s01", LATER)
    return options, db, first, last


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(["report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_submissions_report_is_written_with_its_sizes(book, tmp_path, capsys):
    options, _, first, _ = book
    code, out, err = run(capsys, str(first), "--out", str(tmp_path / "r"), *options)
    assert code == 0, err
    page = tmp_path / "r" / "report.html"
    text = page.read_text()
    assert f"submission {first} (lenet5.py)" in text and "grading" in text and "grader v1" in text
    assert "Trained on the CPU." in text and "✗ (None, 32, 32, 6)" in text
    assert "For staff: this report shows everything" in text and ("The student sees this report as it is here, hidden checks and figures "
                                                               "of hidden digits included.") in text
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["confusion.png", "kernels.png", "report.html"]
    Image.open(tmp_path / "r" / "kernels.png").verify()
    assert f"Wrote the report of submission {first}" in out and "2 pictures" in out
    assert "report.html" in out and "kernels.png" in out and "KiB" in out


def test_a_students_report_is_of_the_submission_that_counts(book, tmp_path, capsys):
    options, _, _, last = book
    code, out, err = run(capsys, "--student", "s01", "--assignment", "lenet5", "--out", str(tmp_path), *options)
    assert code == 0, err
    assert f"Wrote the report of submission {last}," in out
    assert f"submission {last} (lenet5.py)" in (tmp_path / "report.html").read_text()


def test_staff_are_told_when_the_student_does_not_see_the_hidden_figures_yet(book, tmp_path, capsys):
    options, db, first, _ = book
    (tmp_path / "later.toml").write_text(LENET5_DUE_LATER)
    code, _, err = run(capsys, str(first), "--out", str(tmp_path / "r"), "--db", db, "--course", str(tmp_path / "later.toml"))
    assert code == 0, err
    text = (tmp_path / "r" / "report.html").read_text()
    assert ("without its hidden checks and figures of hidden digits (confusion matrix, robustness) until hidden "
            "results are released, after 2099-01-01 23:59 (Asia/Shanghai).") in text
    assert (tmp_path / "r" / "confusion.png").exists(), "staff see everything"


def test_an_earlier_grading_is_said_not_to_be_the_one_the_student_sees(book, tmp_path, capsys):
    options, db, first, _ = book
    with Gradebook(db) as gradebook:
        old = gradebook.submission(first).grading.id
        gradebook.record_report(first, GradingReport("lenet5", "s01", CHECKS, grader_version="v2", figures=FIGURES))
        new = gradebook.submission(first).grading.id
    code, _, err = run(capsys, str(first), "--grading", str(old), "--out", str(tmp_path), *options)
    assert code == 0, err
    assert escape(f"The student sees the current grading's report (grading {new}), not this one (grading {old}).") \
        in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize("argv, sentence", [
    (["999"], "No submission with id 999"),
    (["--student", "nobody", "--assignment", "lenet5"], "nobody has no graded submission of lenet5"),
    (["--student", "s01", "--assignment", "no_such"], "Unknown assignment 'no_such'"),
    (["--student", "s01"], "Expected a SUBMISSION_ID, or --student and --assignment together"),
    ([], "Expected a SUBMISSION_ID, or --student and --assignment together"),
    (["FIRST", "--student", "s01", "--assignment", "lenet5"], "Expected a SUBMISSION_ID, or"),
    (["FIRST", "--grading", "999"], "has no grading 999; its gradings are"),
])
def test_what_cannot_be_reported_exits_2_with_a_sentence(book, tmp_path, capsys, argv, sentence):
    options, _, first, _ = book
    argv = [str(first) if arg == "FIRST" else arg for arg in argv]
    code, _, err = run(capsys, *argv, "--out", str(tmp_path / "r"), *options)
    assert code == USAGE_ERROR
    assert sentence in err
    assert not (tmp_path / "r").exists()


def test_a_grading_from_before_reports_exits_2_and_says_to_regrade(env, tmp_path, capsys):
    options, db = env
    with Gradebook(db) as gradebook:
        old = submit(gradebook, "s02", EARLY, figures=None)
    code, _, err = run(capsys, str(old), "--out", str(tmp_path / "r"), *options)
    assert code == USAGE_ERROR
    assert "was made before the grader drew reports" in err and f"python -m grader regrade {old}" in err


def test_a_grader_error_and_an_ungraded_submission_exit_2(env, tmp_path, capsys):
    options, db = env
    with Gradebook(db) as gradebook:
        failed, _ = gradebook.add_submission("s03", "lenet5", Artifact.of("a.py", b"a"), submitted_at=EARLY,
                                             time_source="flag")
        gradebook.record_error(failed, "the grader failed", "Traceback ...")
        queued, _ = gradebook.add_submission("s03", "lenet5", Artifact.of("b.py", b"b"), submitted_at=LATER,
                                             time_source="flag")
    code, _, err = run(capsys, str(failed), "--out", str(tmp_path), *options)
    assert code == USAGE_ERROR and "is a grader error, so it has no report" in err
    code, _, err = run(capsys, str(queued), "--out", str(tmp_path), *options)
    assert code == USAGE_ERROR and f"Submission {queued} is not graded yet (it is queued)" in err


def test_a_flipped_conv2d_graded_for_real_gets_its_heat_maps(env, tmp_path, capsys):
    options, _ = env
    submission = REPO_ROOT / "examples" / "submissions" / "conv_ops" / "s03_zhang_min.py"  # conv2d flips the kernel
    assert cli.main(["grade", str(submission), "-a", "conv_ops", "--submitted-at", "2026-11-25T08:00:00+08:00",
                     *options]) == 0
    capsys.readouterr()
    code, out, err = run(capsys, "1", "--out", str(tmp_path / "r"), *options)
    assert code == 0, err
    text = (tmp_path / "r" / "report.html").read_text()
    assert "Where conv2d is wrong: worked example 1" in text and "flipped kernel" in text
    assert (tmp_path / "r" / "difference_1.png").stat().st_size < 300_000
    assert "Your model&#x27;s layers" not in text, "conv_ops has no network, so no layer table"
