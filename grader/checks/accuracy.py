"""Accuracy on hidden data: the trusted side scores predictions the sandbox made without the labels."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import numpy as np

from grader.assignment import Evidence, Verdict
from grader.checks import INTEGER, malformed, observed
from grader.sandbox.observations import ObservationError, read_array

SHOWN_STEPS = 200
"""The accuracy a student sees is rounded to 1/200, half a percentage point: one image more or less
right rarely moves it, so repeated uploads cannot read the hidden labels one at a time."""


@dataclass(frozen=True)
class Readings:
    """How the grader reads each output form an assignment accepts, in the words of the student's feedback."""

    rows: str
    """(N, classes) scores or probabilities, e.g. "19 probabilities per pair; the largest is the predicted sum"."""
    number: str
    """(N,) or (N, 1), e.g. "one number per pair, rounded to the nearest sum in 0..18"."""


def predicted_classes(predictions: np.ndarray, classes: int) -> np.ndarray:
    """The class each row of `predictions` stands for, as int64 of shape (N,).

    (N, classes) scores or probabilities: the largest one's index. One number per item, (N,) or
    (N, 1) (a regression, e.g. the digit adder's sum): the nearest integer, halves rounded up,
    clipped to 0..classes-1. Expects finite values (callers say what a NaN means to the student):
    a non-finite value or another shape raises ValueError.
    """
    predictions = np.asarray(predictions)
    if not np.all(np.isfinite(predictions)):
        raise ValueError("Expected finite predictions. Received NaN or infinity.")
    if predictions.ndim == 2 and predictions.shape[1] == classes:
        return predictions.argmax(axis=1).astype(np.int64)
    if predictions.ndim == 1 or (predictions.ndim == 2 and predictions.shape[1] == 1):
        numbers = predictions.reshape(-1).astype(np.float64)
        return np.clip(np.floor(numbers + 0.5), 0, classes - 1).astype(np.int64)
    raise ValueError(f"Expected predictions of shape (N, {classes}), (N,) or (N, 1). "
                     f"Received shape {predictions.shape}.")


def public_mask(key: bytes, assignment: str, count: int) -> np.ndarray:
    """Which of `count` hidden items rank the public leaderboard (True) and which the private one.

    Exactly count // 2 are public, drawn by a generator seeded with HMAC(key, assignment, count):
    the same for every grading of the assignment, different for another assignment or another
    key, and unknowable without the instructor's secret that `key` is made from.
    """
    if count < 0:
        raise ValueError(f"Expected a count of at least 0. Received count={count}.")
    message = f"{assignment}\n{count}".encode()
    seed = int.from_bytes(hmac.new(key, message, hashlib.sha256).digest(), "little")
    mask = np.zeros(count, dtype=bool)
    mask[np.random.default_rng(seed).permutation(count)[:count // 2]] = True
    return mask


def shown_accuracy(correct: int, total: int) -> float:
    """correct / total rounded half up to the nearest 1/SHOWN_STEPS, in integers so that no float
    rounding moves a value that lies exactly between two steps."""
    return (2 * SHOWN_STEPS * correct + total) // (2 * total) / SHOWN_STEPS


def _split_measures(evidence: Evidence, right: np.ndarray) -> dict[str, int]:
    """The public half's counts; none where grading gave no split key or assignment (a check scored
    outside grade()), so that such a result stays off the public and private boards."""
    key, assignment = evidence.secrets.get("split_key"), evidence.secrets.get("assignment")
    if key is None or assignment is None:
        return {}
    public = public_mask(key, assignment, len(right))
    return {"public_correct": int(right[public].sum()), "public_total": int(public.sum())}


def hidden_accuracy(sample: tuple[float, float], full: tuple[float, float], classes: int, what: str, cause: str,
                    phase: str = "predict", labels: str = "hidden_labels", readings: Readings | None = None):
    """Full points at the high accuracy or more, none at the low one or less, linear between.

    `sample` holds the (low, high) thresholds when the course trains on the 8,000-digit
    sample, `full` when it trains on all 60,000 MNIST digits. The points follow the rounded
    accuracy the student is shown, so that they tell no more than the message does; the exact
    counts go to the leaderboard as measures, split into the public and private halves.
    Predictions are rows of `classes` scores; with `readings`, one number per item too (see
    predicted_classes), and the message says how the grader read them.
    """

    def check(evidence: Evidence) -> Verdict:
        count = observed(evidence, phase, "predicted", step="predict", expect=INTEGER)
        truth = evidence.secrets[labels]
        low, high = full if evidence.secrets.get("full_mnist") else sample
        rows = (len(truth), classes)
        try:
            predictions = read_array(evidence.phases[phase].out_dir, "predictions.npy", dtype_kind="fiu",
                                     shape=None if readings else rows, max_bytes=8 * len(truth) * classes + 4096,
                                     what="the array the grader saved of them")
        except ObservationError as error:
            return Verdict(0.0, f"Your model's predictions could not be used: {error}")
        numbers = predictions.shape in ((len(truth),), (len(truth), 1))
        if readings is not None and predictions.shape != rows and not numbers:
            return Verdict(0.0, f"Your model's predictions on {len(truth):,} {what} have shape {predictions.shape}; "
                                f"expected {rows} ({readings.rows}) or ({len(truth)},) or ({len(truth)}, 1) "
                                f"({readings.number}).")
        if count != len(truth):
            raise malformed("predicted", f"it counts {count:,} predictions, but the grader saved {len(truth):,}")
        if not np.all(np.isfinite(predictions)):
            return Verdict(0.0, f"Your model's predictions on {what} contain NaN or infinity. "
                                "Likely cause: training diverged (learning rate too high?) or a division by zero.")
        right = predicted_classes(predictions, classes) == truth
        correct = int(right.sum())
        accuracy = shown_accuracy(correct, len(truth))
        fraction = (accuracy - low) / (high - low)
        message = (f"Accuracy on {len(truth):,} {what}: about {accuracy:.1%} (rounded to half a point, so that "
                   f"repeated uploads cannot read the hidden labels one by one). "
                   f"Full points from {high:.1%}, none at {low:.1%} or below.")
        if readings is not None:
            message += f" Read as {readings.number if numbers else readings.rows}."
        if fraction < 1:
            message += f" Likely cause: {cause}"
        measures = {"correct": correct, "total": len(truth), **_split_measures(evidence, right)}
        return Verdict(min(max(fraction, 0.0), 1.0), message, measures)

    return check
