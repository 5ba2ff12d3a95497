"""benchmarks/grading.py: the split of a grading's wall time, and the plain process's model work."""

import pytest

from benchmarks import grading, plain
from grader.results import GradingReport


def test_the_split_separates_start_up_imports_and_work_of_a_shared_run():
    report = GradingReport("mnist_convnet", "benchmark", [])
    report.phase_seconds = {"build": 6.0, "train": 20.0, "predict": 5.0}
    report.step_seconds = {"build": {"import": 4.0, "build_model": 0.5, "forward": 0.5},
                           "train": {"build_model": 0.1, "train": 19.0},  # the same process: no import
                           "predict": {"import": 3.0, "build_model": 0.1, "predict": 0.5, "report_robustness": 0.4}}
    report.phase_queued_seconds = {"build": 0.5, "train": 1.5, "predict": 0.0}
    report.execution_seconds = 34.0
    parts = grading.split(report)
    assert parts == pytest.approx({"sandbox start": 1.0 + 0.9 + 1.0, "imports": 7.0, "build and describe": 1.2,
                                   "training": 19.0, "prediction": 0.9, "waiting for cores": 2.0,
                                   "checks (trusted side)": 1.0})


def test_the_plain_image_classifier_work_runs(monkeypatch):
    pytest.importorskip("keras")
    from assignments.mnist_convnet import checks

    monkeypatch.setitem(checks.RECIPE, "epochs", 1)  # the work's shape, not its length
    plain.image_classifier("mnist_convnet", "build_model")
