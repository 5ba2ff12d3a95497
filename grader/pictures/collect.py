"""Gathers a grading's Figures on the trusted side, from what the phases wrote and the hidden labels."""

from __future__ import annotations

import numpy as np

from grader.assignment import Assignment, Evidence
from grader.checks import OBJECT, NotObserved, observed
from grader.checks.accuracy import predicted_classes
from grader.checks.model import model_layers
from grader.pictures.figures import Figures, LayerRow
from grader.sandbox.observations import ObservationError, read_array

MAX_TABLE_LAYERS = 400
"""Rows of the layer table at most: a ResNet-152 has about 520 layers; the rest are left out with a line."""
MAX_CONFUSION_CLASSES = 100
"""A confusion matrix is drawn for at most this many classes (the adder has 19)."""
_NOT_RUN = "the {phase} phase did not give results (the checks above say why)"


def collect(assignment: Assignment, evidence: Evidence) -> Figures:
    """Every figure that what the phases wrote allows; each one that is not there is in `missing`,
    with the reason in the student's words. Never raises for anything the sandbox wrote."""
    missing: dict[str, str] = {}
    parts: dict = {}
    for name, gather in (("layers", _layers), ("confusion", _confusion)):
        try:
            value = gather(assignment, evidence)
        except (NotObserved, ObservationError) as absent:
            missing[name] = str(absent)
            continue
        if value is None:
            continue
        parts[name] = value
    return Figures(**parts, missing=missing)


def _phase_usable(evidence: Evidence, phase: str) -> bool:
    outcome = evidence.phases.get(phase)
    return outcome is not None and outcome.ran and not outcome.failure


def _layers(assignment: Assignment, evidence: Evidence) -> tuple[LayerRow, ...] | None:
    """The layer table: every layer the build phase described, beside what the assignment expects."""
    if not _phase_usable(evidence, "build"):
        raise NotObserved(_NOT_RUN.format(phase="build"))
    key = _table_model(evidence.phases["build"].observations)
    step = "build_resnet" if key.startswith("resnet") else next(iter(assignment.functions), None)
    summary = observed(evidence, "build", key, step=step, expect=OBJECT)
    rows = []
    for layer in model_layers(summary)[:MAX_TABLE_LAYERS]:
        expected = assignment.expected_layers.get(layer["name"])
        rows.append(LayerRow(
            name=layer["name"][:120],
            kind=str(layer.get("class", ""))[:80],
            output_shape=_shape_or_none(layer.get("output_shape")),
            trainable_params=_count_or_none(layer.get("trainable_params")),
            expected_output_shape=None if expected is None else expected.output_shape,
            expected_params=None if expected is None else expected.trainable_params))
    return tuple(rows)


def _table_model(observations: dict) -> str:
    """Which described model the table shows: the assignment's one model, or, for the ResNet
    assignment that builds every depth, ResNet-50 (where a missing flatten shows as (None, 1, 1, 1000))."""
    return "resnet50" if "model" not in observations and "resnet50" in observations else "model"


def _shape_or_none(value) -> list | None:
    """A shape of sizes and nulls, or a list of such shapes, as the probe describes outputs; else None."""
    def sizes(shape) -> bool:
        return isinstance(shape, list) and len(shape) <= 8 and all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**63) for d in shape)

    if sizes(value) or (isinstance(value, list) and 0 < len(value) <= 8 and all(sizes(s) for s in value)):
        return value
    return None


def _count_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63 else None


def _confusion(assignment: Assignment, evidence: Evidence) -> np.ndarray | None:
    """confusion[true, predicted] over the hidden digits (or pairs): counts only, from the predictions
    the sandbox made and the labels that never entered it."""
    truth = evidence.secrets.get("hidden_labels")
    if truth is None:
        return None  # a self-check: no hidden phase ran
    if not _phase_usable(evidence, "predict"):
        raise NotObserved(_NOT_RUN.format(phase="predict"))
    outputs = read_array(evidence.phases["predict"].out_dir, "predictions.npy", dtype_kind="fiu")
    if outputs.ndim not in (1, 2) or len(outputs) != len(truth) or outputs.size > MAX_CONFUSION_CLASSES * len(truth):
        raise NotObserved(f"your model's predictions have shape {outputs.shape}; expected one row per "
                          f"hidden item ({len(truth):,})")
    if not np.all(np.isfinite(outputs)):
        raise NotObserved("your model's predictions contain NaN or infinity")
    # Rows of scores say how many classes the model knows; one number per item (a regression) does
    # not, and is read in the labels' classes. The matrix covers both, so that a model with too few
    # outputs shows which classes it never predicts.
    labelled = int(truth.max(initial=0)) + 1
    scored = outputs.shape[1] if outputs.ndim == 2 and outputs.shape[1] > 1 else 0
    predicted = predicted_classes(outputs, scored or labelled)
    classes = max(scored, labelled)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (truth.astype(np.int64), predicted), 1)
    return confusion

