"""Gathers a grading's Figures on the trusted side, from what the phases wrote and the hidden labels."""

from __future__ import annotations

import numpy as np

from grader.assignment import Assignment, Evidence
from grader.checks import OBJECT, NotObserved, observed
from grader.checks.accuracy import predicted_classes
from grader.checks.model import model_layers
from grader.pictures import learned
from grader.pictures.figures import Difference, Figures, LayerRow
from grader.sandbox.observations import ObservationError, read_array

MAX_TABLE_LAYERS = 400
"""Rows of the layer table at most: a ResNet-152 has about 520 layers; the rest are left out with a line."""
MAX_CONFUSION_CLASSES = 100
"""A confusion matrix is drawn for at most this many classes (the adder has 19)."""
MAX_DIFFERENCES = 8
"""Heat maps of wrong answers, at most."""
_NOT_RUN = learned.NO_RESULTS


def collect(assignment: Assignment, evidence: Evidence) -> Figures:
    """Every figure that what the phases wrote allows; each one that is not there is in `missing`,
    with the reason in the student's words. Never raises for anything the sandbox wrote."""
    missing: dict[str, str] = {}
    parts: dict = {}
    for name, gather in GATHERERS:
        try:
            value = gather(assignment, evidence)
        except (NotObserved, ObservationError) as absent:
            missing[name] = str(absent)
            continue
        if value is not None:
            parts |= value
    return Figures(**parts, missing=missing)


def _phase_usable(evidence: Evidence, phase: str) -> bool:
    outcome = evidence.phases.get(phase)
    return outcome is not None and outcome.ran and not outcome.failure


def _layers(assignment: Assignment, evidence: Evidence) -> dict | None:
    """The layer table: every layer the build phase described, beside what the assignment expects.

    Where the build phase describes several models instead of one (resnet: five blocks, five depths
    and a small ResNet-18, whose layer names are the student's choice), a row per model the
    assignment expects, with its output shape and trainable parameters.
    """
    if not assignment.expected_layers and all(phase.name != "build" for phase in assignment.phases):
        return None  # no network in this assignment (conv_ops)
    if not _phase_usable(evidence, "build"):
        raise NotObserved(_NOT_RUN.format(phase="build"))
    described = evidence.phases["build"].observations
    step = next(iter(assignment.functions), None)
    if "model" not in described and assignment.expected_layers:
        if not any(name in described for name in assignment.expected_layers):
            observed(evidence, "build", next(iter(assignment.expected_layers)), step=step)  # says why
        return {"layers": tuple(_model_row(name, described.get(name), expected)
                                for name, expected in assignment.expected_layers.items())}
    summary = observed(evidence, "build", "model", step=step, expect=OBJECT)
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
    return {"layers": tuple(rows)}


def _model_row(name: str, summary, expected) -> LayerRow:
    """One model the build phase described (a block, a depth) as a row: its single output's shape and
    its trainable parameters, unknown where it was not described."""
    summary = summary if isinstance(summary, dict) else {}
    outputs = summary.get("output_shapes")
    output = outputs[0] if isinstance(outputs, list) and len(outputs) == 1 else outputs
    return LayerRow(name=name[:120], kind=str(summary.get("class", "not built"))[:80],
                    output_shape=_shape_or_none(output), trainable_params=_count_or_none(summary.get("trainable_params")),
                    expected_output_shape=expected.output_shape, expected_params=expected.trainable_params)


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


def _confusion(assignment: Assignment, evidence: Evidence) -> dict | None:
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
    return {"confusion": confusion}


def _differences(assignment: Assignment, evidence: Evidence) -> dict | None:
    """The wrong numeric answers the assignment's checks saw (conv_ops's conv2d), as 2-D got/expected."""
    if assignment.differences is None:
        return None
    found = tuple(d for d in assignment.differences(evidence) if isinstance(d, Difference))[:MAX_DIFFERENCES]
    return {"differences": found} if found else None


GATHERERS = (
    ("layers", _layers),
    ("kernels", learned.kernels),
    ("feature_maps", learned.feature_maps),
    ("curves", learned.learning_curves),
    ("confusion", _confusion),
    ("robustness", learned.robustness_figure),
    ("reference_robustness", learned.reference_robustness),
    ("differences", _differences),
)
"""Each figure's name (a field of Figures, the key of its reason in `missing`) and the function that
reads it: a dict of Figures fields, None where the figure does not apply, NotObserved with the reason."""

