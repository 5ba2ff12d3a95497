"""The hidden-accuracy check (grader/checks/accuracy.py): the rounded accuracy students see, the counts the
leaderboard gets, the public/private split, and the check when the predict phase's count is malformed."""

import hashlib
import hmac
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from grader.assignment import Check, Evidence, PhaseOutcome, load_assignment
from grader.checks.accuracy import hidden_accuracy, predicted_classes, public_mask, shown_accuracy
from grader.config import Config
from grader.data import MnistData, Split
from grader.grading import GradingContext
from tests.grader.checks.honest import HIDDEN, honest_evidence, replaced, score

CHECK = Check("accuracy", 10, hidden_accuracy(sample=(0.5, 0.9), full=(0.5, 0.9), classes=10, what="hidden digits",
                                              cause="train longer."), needs=("train", "predict"), hidden=True)
KEY = b"instructor key"
ACCURACY_ASSIGNMENTS = ("digit_adder", "lenet5", "mnist_convnet")
"""The assignments whose checks include hidden_accuracy."""


@pytest.fixture
def evidence(tmp_path):
    return honest_evidence("mnist_convnet", tmp_path)


def graded(evidence: Evidence, right: np.ndarray, split: bool = True) -> Evidence:
    """`evidence` with len(right) hidden digits, predicted correctly where `right` is True, one off elsewhere,
    and the split secrets grading adds (unless `split` is False)."""
    labels = np.arange(len(right)) % 10
    predicted = np.where(right, labels, (labels + 1) % 10)
    np.save(evidence.phases["predict"].out_dir / "predictions.npy", np.eye(10, dtype="float32")[predicted])
    evidence = replaced(evidence, "predict", ("predicted",), len(right))
    secrets = {**evidence.secrets, "hidden_labels": labels}
    if split:
        secrets |= {"split_key": KEY, "assignment": "mnist_convnet"}
    return Evidence(evidence.phases, secrets)


def first_right(correct: int, total: int) -> np.ndarray:
    return np.arange(total) < correct


def test_right_predictions_score_full_points(evidence):
    outcome = score(CHECK, evidence)
    assert outcome.status == "passed"
    assert f"Accuracy on {HIDDEN} hidden digits: about 100.0% (rounded to half a point, so that repeated " \
           "uploads cannot read the hidden labels one by one)." in outcome.message


@pytest.mark.parametrize("correct, total, shown", [
    (1931, 2000, 0.965),  # 96.55%: the nearer step is 96.5
    (1934, 2000, 0.965),  # 96.70%
    (1935, 2000, 0.970),  # 96.75%: exactly between two steps, rounded up
    (1865, 2000, 0.935),  # 93.25%: between, up
    (1859, 2000, 0.930),  # 92.95%
    (2000, 2000, 1.0),
    (0, 2000, 0.0),
    (1, 3, 0.335),        # 33.33%
    (7, 20, 0.35),
])
def test_the_accuracy_shown_is_rounded_to_half_a_point(correct, total, shown):
    assert shown_accuracy(correct, total) == pytest.approx(shown, abs=1e-12)


@pytest.mark.parametrize("correct, shown, fraction", [
    (1795, "about 90.0%", 1.0),        # 89.75% shows as 90.0%, the full-points threshold
    (1789, "about 89.5%", 0.9875),     # 89.45%: (0.895 - 0.5) / 0.4
    (1010, "about 50.5%", 0.0125),
    (1004, "about 50.0%", 0.0),        # 50.20%: no points at the rounded 50.0%
])
def test_the_points_follow_the_rounded_accuracy(evidence, correct, shown, fraction):
    outcome = score(CHECK, graded(evidence, first_right(correct, 2000)))
    assert outcome.fraction == pytest.approx(fraction, abs=1e-9)
    assert f"Accuracy on 2,000 hidden digits: {shown}" in outcome.message
    exact = f"{correct / 2000:.2%}"
    assert exact not in outcome.message, "the exact accuracy stays on the trusted side"
    assert ("Likely cause: train longer." in outcome.message) == (fraction < 1)


def test_the_measures_count_the_public_and_private_halves(evidence):
    right = np.random.default_rng(5).random(2000) < 0.9655
    verdict = CHECK.run(graded(evidence, right))
    public = public_mask(KEY, "mnist_convnet", 2000)
    assert verdict.measures == {"correct": int(right.sum()), "total": 2000,
                                "public_correct": int(right[public].sum()), "public_total": 1000}
    assert all(type(value) is int for value in verdict.measures.values()), "plain numbers, for JSON"


def test_a_regrade_measures_the_same_halves(evidence):
    right = np.random.default_rng(6).random(2000) < 0.9
    first = CHECK.run(graded(evidence, right)).measures
    assert CHECK.run(graded(evidence, right)).measures == first


def test_without_a_split_key_the_measures_have_no_halves(evidence):
    verdict = CHECK.run(graded(evidence, first_right(1500, 2000), split=False))
    assert verdict.measures == {"correct": 1500, "total": 2000}


@pytest.mark.parametrize("predictions, classes, expected", [
    ([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]], 3, [1, 0]),        # rows of probabilities: the largest
    ([[-3.0, 2.0, 1.0], [0.0, 0.0, 0.0]], 3, [1, 0]),       # scores too; a tie goes to the first
    ([3.2, 3.5, 3.7, 17.49, 0.0], 19, [3, 4, 4, 17, 0]),     # one number: nearest, halves up
    ([[2.5], [-0.4], [7.0]], 19, [3, 0, 7]),                  # (N, 1) as (N,)
    ([-0.6, -25.0, 18.6, 1e9], 19, [0, 0, 18, 18]),           # clipped to 0..18
    (np.array([4, 11, 30], dtype=np.int32), 19, [4, 11, 18]),  # integers are numbers too
    (np.zeros((0, 19)), 19, []),
    (np.zeros((0,)), 19, []),
])
def test_predicted_classes_reads_both_output_forms(predictions, classes, expected):
    got = predicted_classes(np.asarray(predictions), classes)
    assert got.dtype == np.int64 and got.tolist() == expected


@pytest.mark.parametrize("predictions, fragment", [
    (np.zeros((4, 18)), "Received shape (4, 18)"),
    (np.zeros((4, 19, 1)), "Received shape (4, 19, 1)"),
    (np.zeros((4, 2)), "Received shape (4, 2)"),
    (np.array([1.0, np.nan]), "Received NaN or infinity"),
    (np.array([[np.inf] * 19]), "Received NaN or infinity"),
])
def test_predicted_classes_refuses_other_shapes_and_non_finite_values(predictions, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        predicted_classes(predictions, 19)


@pytest.mark.parametrize("count", [0, 1, 2, 3, 20, 2000, 2001, 10_000])
def test_exactly_half_of_the_hidden_items_are_public(count):
    mask = public_mask(KEY, "digit_adder", count)
    assert (mask.dtype, mask.shape, int(mask.sum())) == (np.dtype(bool), (count,), count // 2)


def test_the_split_is_the_same_for_the_same_key_assignment_and_count():
    assert np.array_equal(public_mask(KEY, "digit_adder", 2000), public_mask(bytes(KEY), "digit_adder", 2000))


@pytest.mark.parametrize("key, assignment, why", [
    (b"another instructor", "digit_adder", "another key"),
    (KEY, "lenet5", "another assignment"),
    (KEY, "mnist_convnet", "another assignment"),
])
def test_the_split_differs_for_another_key_or_assignment(key, assignment, why):
    assert not np.array_equal(public_mask(key, assignment, 2000), public_mask(KEY, "digit_adder", 2000)), why


def test_the_split_does_not_change_between_releases():
    """Pinned: a change to how the mask is drawn would reshuffle every board in the middle of a course."""
    assert np.flatnonzero(public_mask(KEY, "digit_adder", 10)).tolist() == [2, 3, 4, 7, 9]


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError, match="Received count=-1"):
        public_mask(KEY, "digit_adder", -1)


def _context(name: str, tmp_path: Path) -> GradingContext:
    """What grade() gives phase input builders, with a small made-up MNIST and a trained model on file."""
    rng = np.random.default_rng(8)
    public = Split(rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), rng.integers(0, 10, 60, dtype=np.uint8))
    hidden = Split(rng.integers(0, 256, (300, 28, 28), dtype=np.uint8), rng.integers(0, 10, 300, dtype=np.uint8))
    config = Config(secret_value="the instructor's secret")
    # reference=True: what the phases are given is the point here; looking the reference's robustness
    # curves up would train the reference on these made-up digits in a sandbox.
    context = GradingContext(config, load_assignment(name), self_check=False, reference=True,
                             _mnist=MnistData(public, hidden, "made up for the test"))
    # As grade() derives it, before any phase runs.
    context.secrets["split_key"] = hmac.new(config.secret().encode(), b"leaderboard split", hashlib.sha256).digest()
    context.secrets["assignment"] = name
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "model.weights.h5").write_bytes(b"weights")
    context.phases["train"] = PhaseOutcome("train", True, {}, tmp_path / "train")
    return context


def _values(inputs: dict) -> list:
    """Every array and every JSON value (flattened) among a phase's inputs."""
    found = []
    pending = list(inputs.values())
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending += list(value.values())
        elif isinstance(value, (list, tuple)):
            pending += list(value)
            found.append(np.asarray(value) if value and all(isinstance(v, (int, bool)) for v in value) else value)
        else:
            found.append(value)
    return found


def _same_values(value, reference: np.ndarray) -> bool:
    """Whether `value` holds the numbers of `reference`, in any dtype (a mask may travel as 0/1 bytes)."""
    array = np.asarray(value) if isinstance(value, np.ndarray) else None
    return array is not None and array.size == reference.size and array.dtype != object \
        and np.array_equal(array.reshape(-1).astype(np.int64), reference.astype(np.int64))


@pytest.mark.parametrize("name", ACCURACY_ASSIGNMENTS)
def test_the_sandbox_never_receives_the_split_or_the_labels(name, tmp_path):
    context = _context(name, tmp_path)
    inputs = {phase.name: phase.inputs(context) for phase in context.assignment.phases if phase.inputs}
    labels = context.secrets["hidden_labels"]
    mask = public_mask(context.secrets["split_key"], name, len(labels))
    forbidden = {"the public mask": mask, "the private mask": ~mask, "the public indices": np.flatnonzero(mask),
                 "the private indices": np.flatnonzero(~mask), "the hidden labels": labels}
    for phase, given in inputs.items():
        assert "args" in given and json.dumps(given["args"])  # the probe's arguments are plain JSON
        for value in _values(given):
            for what, secret in forbidden.items():
                assert not _same_values(value, secret), f"the {phase} phase's inputs hold {what}"
        assert context.secrets["split_key"].hex() not in json.dumps(given["args"])
    assert len(inputs["predict"]) > 1 and any(isinstance(v, np.ndarray) and len(v) == len(labels)
                                              for v in inputs["predict"].values()), "the images do go in"


@pytest.mark.parametrize("predicted, fragment", [
    (str(HIDDEN), f"got a string ('{HIDDEN}'), expected an integer"),
    (float(HIDDEN), f"got the number {HIDDEN}, expected an integer"),
    (True, "got true, expected an integer"),
    (None, "got null, expected an integer"),
    ([HIDDEN], "got a list of 1 item, expected an integer"),
    ({"count": HIDDEN}, "got an object, expected an integer"),
    (math.nan, "got NaN, expected an integer"),
    (HIDDEN - 1, f"it counts {HIDDEN - 1:,} predictions, but the grader saved {HIDDEN:,}"),
    (10**400, "predictions, but the grader saved"),
])
def test_a_malformed_count_scores_zero_with_a_reason(evidence, predicted, fragment):
    outcome = score(CHECK, replaced(evidence, "predict", ("predicted",), predicted))
    assert (outcome.status, outcome.fraction) == ("error", 0.0)
    assert outcome.message.startswith("The grader cannot use its record of your model's predictions: ")
    assert fragment in outcome.message


def test_predictions_with_nan_score_zero_with_the_likely_cause(evidence):
    path = evidence.phases["predict"].out_dir / "predictions.npy"
    probs = np.load(path)
    probs[3, 0] = np.nan
    np.save(path, probs)
    outcome = score(CHECK, evidence)
    assert (outcome.status, outcome.fraction) == ("failed", 0.0)
    assert "contain NaN or infinity. Likely cause: training diverged" in outcome.message


@pytest.mark.parametrize("path, value, fragment", [
    (("errors",), {"predict": ["boom"]}, "one of the errors your code raised is a list of 1 item"),
    (("seconds",), "fast", "how long each step of the grader took is a string ('fast')"),
    (("wall_seconds",), None, "how long the phase took is null; expected a finite number"),
])
def test_malformed_common_keys_of_the_predict_phase_score_zero(evidence, path, value, fragment):
    outcome = score(CHECK, replaced(evidence, "predict", path, value))
    assert (outcome.status, outcome.fraction) == ("error", 0.0)
    assert fragment in outcome.message
