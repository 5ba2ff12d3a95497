"""The class benchmark: who submits what, the projection's arithmetic, and a small class graded for real."""

import importlib
from collections import Counter

import pytest

from grader.config import Config

class_bench = importlib.import_module("benchmarks.class")  # `class` is a keyword: no plain import
Graded = class_bench.Graded


def test_every_student_submits_every_assignment_and_the_examples_take_turns():
    picked = class_bench.class_submissions(3, 2, ["conv_ops", "resnet"])
    assert Counter((student, assignment) for student, assignment, _ in picked) == {
        (f"c00{s}", a): 2 for s in (1, 2, 3) for a in ("conv_ops", "resnet")}
    conv_ops = [path.name for _, assignment, path in picked if assignment == "conv_ops"]
    assert conv_ops[:3] == ["s01_li_wei.py", "s02_wang_fang.py", "s03_zhang_min.py"]
    assert len(set(conv_ops)) == 6  # six different examples before any repeats


@pytest.mark.parametrize("machines, cores, hours", [
    (1, 16, (3 * (100 + 20) * 500 / 16 + 50) / 3600),
    (4, 16, (3 * (100 + 20) * 500 / 64 + 50) / 3600),
])
def test_the_projection_is_the_measured_core_seconds_spread_over_every_core_plus_the_longest_grading(
        machines, cores, hours):
    rows = [Graded("lenet5", "c001", "22/22", 0, 50, 90), Graded("lenet5", "c002", "22/22", 0, 40, 110),
            Graded("conv_ops", "c001", "30/30", 0, 1, 20)]
    projected = class_bench.projection(rows, 500, 3, cores, machines)
    assert projected["gradings"] == 500 * 3 * 2
    assert projected["core_hours"] == round(3 * 120 * 500 / 3600, 1)
    assert projected["hours"] == round(hours, 2)


def test_gradings_per_hour_follow_the_cores_each_grading_takes():
    rows = [Graded("resnet", "c001", "22/22", 0, 12, 12), Graded("resnet", "c002", "7/22", 0, 14, 18)]
    assert class_bench.per_assignment(rows, cores=2) == [
        {"assignment": "resnet", "gradings": 2, "mean_grading_s": 13.0, "mean_core_s": 15.0, "per_hour_here": 480}]


def test_a_small_class_is_graded_once_each_by_the_worker(tmp_path):
    # A fixed secret: the hidden cases, and so the flipped kernel's partial score, are drawn with it.
    config = Config(use_keras_download=False, cache_dir=tmp_path / "cache", secret_value="class benchmark test")
    rows, elapsed, threads = class_bench.run_class(2, 2, ["conv_ops"], config, tmp_path)
    # c001 hands in the two right examples, c002 the flipped kernel and the keras.ops one (zero).
    assert sorted((row.student, row.assignment, row.score) for row in rows) == [
        ("c001", "conv_ops", "30/30"), ("c001", "conv_ops", "30/30"),
        ("c002", "conv_ops", "0/30"), ("c002", "conv_ops", "14.57/30")]
    assert all(row.core_seconds > 0 and 0 <= row.waited_seconds <= elapsed for row in rows)
    assert threads >= 1
