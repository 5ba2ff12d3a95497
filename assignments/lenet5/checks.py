"""Assignment 3 (lenet5): what is checked, for how many points."""

from pathlib import Path

import numpy as np

from grader.assignment import Assignment, Check, Evidence, ExpectedLayer, Verdict
from grader.checks import BOOLEAN, INTEGER, OBJECT, NotObserved, list_of, malformed, observed
from grader.checks.accuracy import hidden_accuracy
from grader.checks.model import layer_entry, layer_params, layer_shapes, model_shapes, outputs_are_probabilities
from grader.phases import build_phase, predict_phase, train_phase
from grader.pictures import learned
from grader.pictures.robustness import accuracy_at

PROBE_IMAGES = 16
# COURSE.md's rule: maps 0-5 take 3 consecutive S2 maps, 6-11 take 4, 12-14 the listed sets,
# 15 all six. Written out here, independently of the reference, since checks must not trust it.
C3_TABLE = tuple(tuple((c + k) % 6 for k in range(3)) for c in range(6)) \
    + tuple(tuple((c - 6 + k) % 6 for k in range(4)) for c in range(6, 12)) \
    + ((0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5), (0, 1, 2, 3, 4, 5))
# The paper's network, layer by layer: output shape and trainable parameters. The shape and parameter
# checks and the report's layer table all read this one table.
LAYERS = {
    "c1": ExpectedLayer([None, 28, 28, 6], 156),
    "s2": ExpectedLayer([None, 14, 14, 6], 12),
    "c3": ExpectedLayer([None, 10, 10, 16], 1_516),
    "s4": ExpectedLayer([None, 5, 5, 16], 32),
    "c5": ExpectedLayer([None, 1, 1, 120], 48_120),
    "f6": ExpectedLayer([None, 84], 10_164),
    "output": ExpectedLayer([None, 10], 0),
}
C1_TO_F6 = {name: layer.trainable_params for name, layer in LAYERS.items() if name != "output"}
SUBSAMPLING = "S2 and S4 are trainable subsampling: (sum of the 2x2 inputs) * one coefficient + one bias per map; " \
              "MaxPooling2D and AveragePooling2D have no parameters."


def probe_images(rng: np.random.Generator) -> dict:
    return {"images": rng.uniform(0, 1, (PROBE_IMAGES, 32, 32, 1)).astype("float32")}


REACTIONS = list_of(list_of(BOOLEAN, "a list of true/false"), "a list of 6 rows of true/false, one per S2 map")


def c3_table(evidence: Evidence) -> Verdict:
    rows = observed(evidence, "build", "c3_reacts", expect=REACTIONS)
    if len({len(row) for row in rows}) > 1:
        raise malformed("c3_reacts", f"its rows have {sorted({len(row) for row in rows})} entries; expected rows "
                                     "of the same length")
    reacts = np.asarray(rows, dtype=bool)
    expected = np.zeros((6, 16), dtype=bool)
    for c3_map, s2_maps in enumerate(C3_TABLE):
        expected[list(s2_maps), c3_map] = True
    if reacts.shape != expected.shape:
        return Verdict(0.0, f"C3 reaction table has shape {reacts.shape}; expected (6, 16): c3 must map 6 S2 maps to 16.")
    wrong = [j for j in range(16) if not np.array_equal(reacts[:, j], expected[:, j])]
    if not wrong:
        return Verdict(1.0, "Each C3 map reacts exactly to the S2 maps of its column in the connection table.")
    lines = [f"C3 map {j}: reacts to S2 maps {np.flatnonzero(reacts[:, j]).tolist()}, "
             f"expected {np.flatnonzero(expected[:, j]).tolist()}." for j in wrong[:4]]
    cause = (" Likely cause: a full Conv2D connects every S2 map to every C3 map; C3 must follow the table."
             if reacts.all() else "")
    return Verdict((16 - len(wrong)) / 16, "\n".join(lines) + (f"\n(and {len(wrong) - 4} more maps)" if len(wrong) > 4 else "") + cause)


def c1_to_f6_total(evidence: Evidence) -> Verdict:
    summary = observed(evidence, "build", "model", step="build_lenet5", expect=OBJECT)
    total = sum(layer_entry(summary, name, "trainable_params", INTEGER) for name in C1_TO_F6)
    if total == 60_000:
        return Verdict(1.0, "C1..F6 hold 60,000 trainable parameters, as in the paper.")
    return Verdict(0.0, f"C1..F6 trainable parameters: got {total:,}, expected 60,000. See the per-layer check.")


SHIFT_PIXELS = 2
SHIFT_TOLERANCE = 0.05
"""Informational: at 2-pixel shifts, a LeNet-5 should keep its accuracy within 5 points of the reference's."""


def shift_invariance(evidence: Evidence) -> Verdict:
    """Accuracy on hidden digits shifted by 2 pixels, beside the reference LeNet-5's on the same digits."""
    observed(evidence, "predict", "robustness_predicted", step="predict", expect=INTEGER)
    try:
        curves = learned.robustness_curves(ASSIGNMENT, evidence)
    except NotObserved as why:  # the report's reason, a phrase: here a sentence
        raise NotObserved(f"Not compared: {why}.") from None
    found = evidence.secrets.get("reference_robustness")
    if curves is None:
        raise NotObserved("Not compared: this grading sent no shifted digits to your model.")
    if found is None:  # grading the reference itself, for the curves this check compares with
        raise NotObserved("Not compared: this grading is the reference's own.")
    if not found.curves:
        raise NotObserved(f"Not compared: {found.missing}.")
    got, untouched = accuracy_at(curves, "shift", SHIFT_PIXELS), accuracy_at(curves, "shift", 0)
    expected = accuracy_at(found.curves, "shift", SHIFT_PIXELS)
    digits = curves[0].digits
    message = (f"On {digits} hidden digits shifted by {SHIFT_PIXELS} pixels your LeNet-5 gets about {got:.1%} right "
               f"({untouched:.1%} unshifted); the reference LeNet-5 gets {expected:.1%} on the same digits.")
    if got >= expected - SHIFT_TOLERANCE:
        return Verdict(1.0, message + f" Within {SHIFT_TOLERANCE * 100:.0f} points of it: the subsampling layers give "
                                      "the tolerance to small shifts that the paper describes. (Informational, no points.)")
    return Verdict(0.0, message + f" That is more than {SHIFT_TOLERANCE * 100:.0f} points below it. Likely cause: "
                                  "S2 and S4 must each subsample 2x2 neighbourhoods and C5 must see the whole 5x5 S4 "
                                  "maps; a network that flattens early or skips subsampling tolerates shifts poorly. "
                                  "(Informational, no points.)")


# The course recipe (reference/lenet5.py trains with the same numbers; a test keeps them
# equal). Kept here so that grading never imports Keras on the trusted side.
RECIPE = {"epochs": 20, "batch_size": 32, "learning_rate": 1e-3}

ASSIGNMENT = Assignment(
    name="lenet5",
    title="LeNet-5 (LeCun et al., 1998)",
    functions=("build_lenet5",),
    probe=Path(__file__).with_name("probe.py"),
    phases=(build_phase(probe_images), train_phase(RECIPE, seconds=420), predict_phase()),
    expected_layers=LAYERS,
    checks=(
        Check("model input and output shapes", 2, model_shapes(
            [[None, 32, 32, 1]], [[None, 10]], step="build_lenet5",
            cause="LeNet-5 reads 32x32 images: the grader pads MNIST's 28x28 digits by 2, so the model "
                  "must not pad them itself."),
              needs=("build",)),
        Check("layer output shapes c1..output", 3, layer_shapes(
            {name: layer.output_shape for name, layer in LAYERS.items()},
            {"c1": "the input is 32x32 (MNIST padded by 2) and C1 is a 5x5 'valid' convolution.",
             "c5": "C5 is a 5x5 convolution with 120 maps over the 5x5 S4 maps, giving 1x1x120."},
            step="build_lenet5"), needs=("build",)),
        Check("trainable parameters per layer", 4, layer_params(
            {name: layer.trainable_params for name, layer in LAYERS.items()}, {"s2": SUBSAMPLING, "s4": SUBSAMPLING,
                                        "output": "the paper's RBF codes are fixed: make them non-trainable "
                                                  "(840 fixed weights, 0 trainable).",
                       "c3": "C3 holds only the weights of its 60 connections: 60*25 + 16 = 1,516 "
                             "(a full 6x16 kernel has 2,416)."},
            step="build_lenet5"), needs=("build",)),
        Check("C1..F6 hold 60,000 trainable parameters", 1, c1_to_f6_total, needs=("build",)),
        Check("C3 follows the connection table", 3, c3_table, needs=("build",)),
        Check("outputs are probabilities", 1, outputs_are_probabilities(
            PROBE_IMAGES, 10, "return softmax(-distance) from the RBF output layer, not the distances themselves."),
            needs=("build",)),
        Check("accuracy on hidden digits after the course recipe", 8, hidden_accuracy(
            sample=(0.88, 0.955), full=(0.95, 0.985), classes=10, what="hidden digits",
            cause="a layer differs from the paper's network, or the output is not probabilities."),
            needs=("train", "predict"), hidden=True),
        Check("shift invariance (informational)", 0, shift_invariance, needs=("train", "predict"), hidden=True),
    ),
)
