"""Accuracy on hidden data: the trusted side scores predictions the sandbox made without the labels."""

from __future__ import annotations

import numpy as np

from grader.assignment import Evidence, Verdict
from grader.checks import INTEGER, malformed, observed
from grader.sandbox.observations import ObservationError, read_array


def hidden_accuracy(sample: tuple[float, float], full: tuple[float, float], classes: int, what: str, cause: str,
                    phase: str = "predict", labels: str = "hidden_labels"):
    """Full points at the high accuracy or more, none at the low one or less, linear between.

    `sample` holds the (low, high) thresholds when the course trains on the 8,000-digit
    sample, `full` when it trains on all 60,000 MNIST digits.
    """

    def check(evidence: Evidence) -> Verdict:
        count = observed(evidence, phase, "predicted", step="predict", expect=INTEGER)
        truth = evidence.secrets[labels]
        low, high = full if evidence.secrets.get("full_mnist") else sample
        try:
            probs = read_array(evidence.phases[phase].out_dir, "predictions.npy", dtype_kind="fiu",
                               shape=(len(truth), classes))
        except ObservationError as error:
            return Verdict(0.0, f"Your model's predictions could not be used: {error}")
        if count != len(truth):
            raise malformed("predicted", f"it says {count:,} predictions, but predictions.npy holds {len(truth):,}")
        if not np.all(np.isfinite(probs)):
            return Verdict(0.0, f"Your model's predictions on {what} contain NaN or infinity. "
                                "Likely cause: training diverged (learning rate too high?) or a division by zero.")
        accuracy = float((probs.argmax(axis=1) == truth).mean())
        fraction = (accuracy - low) / (high - low)
        message = (f"Accuracy on {len(truth):,} {what}: {accuracy:.2%}. "
                   f"Full points from {high:.1%}, none at {low:.1%} or below.")
        if fraction < 1:
            message += f" Likely cause: {cause}"
        return Verdict(min(max(fraction, 0.0), 1.0), message)

    return check
