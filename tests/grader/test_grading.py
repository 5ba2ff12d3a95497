"""The grading pipeline end to end: reference solutions, bad submissions, and what the sandbox hides."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from grader.assignment import assignment_names, load_assignment
from grader.config import REPO_ROOT, Config, EnvelopeOverrides
from grader.data import NPM_NPZ
from grader.grading import grade_path
from grader.sandbox import bubblewrap_available

FIXTURES = REPO_ROOT / "tests" / "fixtures"
BAD_INPUTS = FIXTURES / "submissions"


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Config:
    assert bubblewrap_available(), "bubblewrap does not work here: run `make setup`"
    secret = tmp_path_factory.mktemp("secret") / "secret"
    return Config(use_keras_download=False, secret_path=secret)


def assert_full_marks(report):
    lost = [f"{c.name}: {c.message}" for c in report.checks if c.points < c.max_points]
    assert not lost, "\n".join(lost) + "\n" + report.instructor_log[-3000:]
    assert report.score == report.max_score > 0


@pytest.mark.parametrize("name", ["conv_ops", "resnet"])
def test_reference_scores_full_marks(name, config):
    report = grade_path(REPO_ROOT / "reference" / f"{name}.py", load_assignment(name), config, student="reference")
    assert_full_marks(report)
    assert any(check.hidden for check in report.checks) == (name == "conv_ops")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist_convnet", "lenet5", "digit_adder"])
def test_trained_reference_scores_full_marks(name, config):
    report = grade_path(REPO_ROOT / "reference" / f"{name}.py", load_assignment(name), config, student="reference")
    assert_full_marks(report)
    assert set(report.phase_seconds) == {"build", "train", "predict"}
    # Every picture of the report that the assignment allows, from the real sandbox's outputs.
    figures = report.figures
    assert figures.kernels is not None and figures.confusion is not None, figures.missing
    total = next(check.measures["total"] for check in report.checks if check.measures)
    assert figures.confusion.sum() == total and np.trace(figures.confusion) >= 0.9 * total
    if name == "digit_adder":  # it reads pairs: no feature maps or robustness of single digits
        assert figures.robustness == () and figures.feature_maps == ()
        return
    assert figures.curves.validation_size and len(figures.curves.val_accuracy) == len(figures.curves.loss)
    assert any("held out for the report's validation curves" in note for note in report.notes)
    assert [curve.transform for curve in figures.robustness] == ["shift", "rotation", "noise"]
    assert [curve.transform for curve in figures.reference_robustness] == ["shift", "rotation", "noise"]
    assert figures.feature_maps and figures.feature_maps[0].original.shape == figures.feature_maps[0].shifted.shape


@pytest.mark.parametrize("name", ["mnist_convnet", "lenet5", "resnet", "digit_adder"])
def test_reference_passes_the_self_check(name, config):
    report = grade_path(REPO_ROOT / "reference" / f"{name}.py", load_assignment(name), config, self_check=True)
    assert_full_marks(report)
    assert not any(check.hidden for check in report.checks)
    assert "Fontconfig" not in report.instructor_log, "the sandbox's output (a student's 'Last output') is noise-free"
    # The report's layer table comes with every grading, the self-check included.
    assert len(report.figures.layers) > 5 and "layers" not in report.figures.missing
    assert not any(row.shape_wrong or row.params_wrong for row in report.figures.layers)


BAD = [
    ("not_python.py", "not a UTF-8 text file"),
    ("empty.py", "empty"),
    ("comments_only.py", "empty"),
    ("syntax_error.py", "line 7"),
    ("syntax_error.ipynb", "cell 2"),
    ("not_a_notebook.ipynb", "notebook"),
    ("wrong_format.docx", ".docx"),
    ("two_files", "b.py"),
    ("zip_slip.zip", "outside itself"),
    ("zip_absolute.zip", "outside itself"),
    ("zip_bomb.zip", "limit"),
    ("zip_symlink.zip", "link"),
]


@pytest.mark.parametrize("fixture, message", BAD)
def test_a_bad_submission_scores_zero_with_a_reason(fixture, message, config):
    report = grade_path(BAD_INPUTS / fixture, load_assignment("conv_ops"), config, self_check=True)
    assert report.score == 0
    assert all(check.status == "error" for check in report.checks)
    assert message.lower() in report.checks[0].message.lower(), report.checks[0].message
    assert "Traceback" not in report.checks[0].message


def test_a_missing_function_costs_only_its_checks(config, tmp_path):
    partial = tmp_path / "partial.py"
    source = (REPO_ROOT / "reference" / "conv_ops.py").read_text()
    partial.write_text(source.replace("def conv_param_count(", "def conv_param_count_typo("))
    report = grade_path(partial, load_assignment("conv_ops"), config, self_check=True)
    by_name = {check.name: check for check in report.checks}
    assert by_name["conv_param_count"].points == 0
    assert by_name["conv_param_count"].message == "Not checked: your file does not define conv_param_count()."
    assert by_name["conv2d: the course's worked examples"].status == "passed"
    # One note for the missing function, with the loader's hint, and no second one from grading.
    assert [note for note in report.notes if "conv_param_count" in note] == [
        "Your code does not define `conv_param_count` at the top level, so the checks that call it score zero. "
        "Did you mean `conv_param_count_typo`? The name must match exactly."]


def test_a_notebook_with_magics_is_graded_and_says_what_it_skipped(config, tmp_path):
    code = (REPO_ROOT / "reference" / "conv_ops.py").read_text()
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "%matplotlib inline\n!pip install numpy\n"},
        {"cell_type": "markdown", "metadata": {}, "source": "# My solution"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": code}]}
    path = tmp_path / "solution.ipynb"
    path.write_text(json.dumps(notebook))
    report = grade_path(path, load_assignment("conv_ops"), config, self_check=True)
    assert_full_marks(report)
    assert any("%matplotlib inline" in note for note in report.notes)


def test_a_submission_that_never_returns_times_out_with_a_message(config):
    report = grade_path(FIXTURES / "attacks" / "never_returns.py", load_assignment("conv_ops"),
                   dataclasses.replace(config, overrides=EnvelopeOverrides(seconds=3)), self_check=True)
    assert report.score == 0
    assert "within its time budget of 3 s on 1 core" in report.checks[0].message
    assert report.phase_cpu_seconds["run"] >= 3
    assert report.execution_seconds < 30


def test_exiting_before_results_is_not_mistaken_for_results(config):
    report = grade_path(FIXTURES / "attacks" / "exits_early.py", load_assignment("conv_ops"), config, self_check=True)
    assert report.score == 0
    assert "without results" in report.checks[0].message


def test_the_sandbox_sees_neither_hidden_data_nor_reference_nor_gradebook(config, tmp_path):
    gradebook = tmp_path / "grades.db"
    gradebook.write_bytes(b"SQLite format 3\0")
    config.secret()  # make sure the secret file exists, so that reading it is a real attempt
    targets = [config.data_dir / NPM_NPZ, REPO_ROOT / "reference" / "conv_ops.py", gradebook,
               config.secret_path, REPO_ROOT / "grader" / "grading.py", Path.home() / ".bash_history"]
    source = (FIXTURES / "attacks" / "snoop_and_write.py").read_text()
    submission = tmp_path / "snoop.py"
    submission.write_text(source.replace("TARGETS = []", f"TARGETS = {[str(t) for t in targets]!r}"))
    before = {path: path.read_bytes() for path in targets if path.exists()}

    report = grade_path(submission, load_assignment("conv_ops"), config, self_check=True)

    log = report.instructor_log
    assert "LEAK" not in log, log
    for target in targets:
        assert f"blocked read {target}" in log, f"{target} was not tried:\n{log}"
    assert "blocked network" in log and "blocked dns" in log
    assert {path: path.read_bytes() for path in before} == before
    assert not (REPO_ROOT / "x").exists()


def test_every_assignment_loads_with_points_and_limits():
    for name in assignment_names():
        assignment = load_assignment(name)
        assert assignment.max_points > 0
        assert all(phase.seconds > 0 for phase in assignment.phases)
        assert len({check.name for check in assignment.checks}) == len(assignment.checks)


def test_a_reader_that_cannot_start_is_a_grader_fault_not_a_zero(config, monkeypatch):
    import grader.intake.artifact
    from grader.submission import ReaderUnavailable

    def unavailable(*args, **kwargs):
        raise ReaderUnavailable("The grader could not start reading hw.py.")

    monkeypatch.setattr(grader.intake.artifact, "read_submission", unavailable)
    with pytest.raises(ReaderUnavailable):
        grade_path(REPO_ROOT / "reference" / "conv_ops.py", load_assignment("conv_ops"), config)


def test_a_notebook_traceback_names_the_students_cell_and_line(config):
    report = grade_path(BAD_INPUTS / "raises_in_cell.ipynb", load_assignment("mnist_convnet"), config, self_check=True)
    note = report.notes[0]
    assert note.startswith("Your code raised an error in build_model(), so the checks that need it were not run:\n"
                           "ValueError: not built yet (28)\n"), note
    assert '  cell 4, line 3, in build_model\n    raise ValueError(f"not built yet ({size})")' in note
    assert all("submission.py" not in text for text in [*report.notes, *(c.message for c in report.checks)])


@pytest.mark.parametrize("name", ["mnist_convnet", "lenet5", "resnet", "digit_adder"])
def test_an_untouched_starter_shows_its_error_once_and_names_no_observation(name, config):
    report = grade_path(REPO_ROOT / "assignments" / name / "starter.py", load_assignment(name), config, self_check=True)
    texts = [*report.notes, *(check.message for check in report.checks)]
    assert sum(text.count("Traceback") + text.count("TODO:") for text in texts) == sum(
        note.count("TODO:") for note in report.notes) >= 1
    functions = load_assignment(name).functions
    assert len([note for note in report.notes if "NotImplementedError: TODO" in note]) <= len(functions)
    for check in report.checks:
        assert check.message.count("Not checked: ") >= 1 and "NotImplementedError: " not in check.message, check
        for key in ("c3 reacts", "c3_reacts", "forward", "found no"):
            assert key not in check.message, check
