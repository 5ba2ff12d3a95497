"""The reference's robustness curves: computed once per key under a file lock, then read from the cache."""

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from grader.assignment import load_assignment
from grader.pictures import reference
from grader.pictures.figures import Figures, RobustnessCurve
from grader.pictures.reference import UNAVAILABLE, ReferenceCurves, robustness_of_reference

CURVES = (RobustnessCurve("shift", (0.0, 1.0), (0.98, 0.9), 500),)
IMAGES = np.zeros((4, 28, 28), dtype=np.uint8)


def context(tmp_path, name: str = "lenet5"):
    mnist = SimpleNamespace(public=SimpleNamespace(labels=np.arange(10, dtype=np.uint8)))
    return SimpleNamespace(assignment=load_assignment(name), config=SimpleNamespace(cache_dir=tmp_path),
                           mnist=lambda: mnist)


@pytest.fixture
def gradings(monkeypatch):
    """Replaces grading the reference (minutes of training) by a stand-in that records each call."""
    calls = []

    def grade_path(path, assignment, config, *, student=None, reference=False, **_):
        calls.append((path.name, student, reference))
        time.sleep(0.2)  # long enough for a second caller to wait on the lock
        figures = Figures(robustness=CURVES) if not calls_fail else Figures(missing={"robustness": "it timed out"})
        return SimpleNamespace(figures=figures, score=22.0, max_score=22.0, grader_version="v", instructor_log="")

    calls_fail = []
    monkeypatch.setattr("grader.grading.grade_path", grade_path)
    return SimpleNamespace(calls=calls, fail=lambda: calls_fail.append(True))


def test_two_workers_at_once_grade_the_reference_once(tmp_path, gradings):
    found = []
    threads = [threading.Thread(target=lambda: found.append(robustness_of_reference(context(tmp_path), IMAGES)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [ReferenceCurves(CURVES)] * 2
    assert gradings.calls == [("lenet5.py", "reference", True)]
    assert robustness_of_reference(context(tmp_path), IMAGES) == ReferenceCurves(CURVES)
    assert len(gradings.calls) == 1


def test_other_digits_or_another_assignment_are_another_entry(tmp_path, gradings):
    robustness_of_reference(context(tmp_path), IMAGES)
    robustness_of_reference(context(tmp_path), IMAGES + 1)
    robustness_of_reference(context(tmp_path, "mnist_convnet"), IMAGES)
    assert [call[0] for call in gradings.calls] == ["lenet5.py", "lenet5.py", "mnist_convnet.py"]


def test_a_failed_reference_is_not_graded_again_within_the_hour(tmp_path, gradings):
    gradings.fail()
    assert robustness_of_reference(context(tmp_path), IMAGES) == ReferenceCurves(missing=UNAVAILABLE)
    assert robustness_of_reference(context(tmp_path), IMAGES) == ReferenceCurves(missing=UNAVAILABLE)
    assert len(gradings.calls) == 1
    (marker,) = tmp_path.glob("reference/*.failed")
    marker.write_text('{"at": 0}')  # an hour and more ago
    robustness_of_reference(context(tmp_path), IMAGES)
    assert len(gradings.calls) == 2


def test_a_damaged_cache_file_is_computed_again(tmp_path, gradings):
    robustness_of_reference(context(tmp_path), IMAGES)
    (cached,) = tmp_path.glob("reference/*.json")
    cached.write_text("{not json")
    assert robustness_of_reference(context(tmp_path), IMAGES) == ReferenceCurves(CURVES)
    assert len(gradings.calls) == 2


def test_an_assignment_without_a_reference_solution_says_so(tmp_path, gradings, monkeypatch):
    monkeypatch.setattr(reference, "_reference_path", lambda name: tmp_path / "absent.py")
    assert "no reference solution" in robustness_of_reference(context(tmp_path), IMAGES).missing
    assert not gradings.calls
