"""The digit adder's checks (assignments/digit_adder/checks.py) on both output forms it accepts: 19
probabilities per pair, or one number per pair (the sum), each able to earn full marks."""

import copy

import numpy as np
import pytest

from assignments.digit_adder.checks import ASSIGNMENT, PROBE_PAIRS
from grader.assignment import Evidence, PhaseOutcome
from tests.grader.checks.honest import HIDDEN, get, honest_evidence, json_type, paths, replaced, score

SHAPES, OUTPUT, ACCURACY = ASSIGNMENT.checks
"""The shape check, the output-form check and the hidden accuracy, in the assignment's order."""


def _with(evidence: Evidence, phase: str, arrays: dict[str, np.ndarray], observations: dict) -> Evidence:
    """`evidence` with `arrays` saved into `phase`'s folder and `observations` set at its top level."""
    outcome = evidence.phases[phase]
    for name, array in arrays.items():
        np.save(outcome.out_dir / f"{name}.npy", array, allow_pickle=False)
    merged = copy.deepcopy(outcome.observations) | observations
    return Evidence({**evidence.phases, phase: PhaseOutcome(phase, True, merged, outcome.out_dir)}, evidence.secrets)


def regression_evidence(tmp_path, sums: np.ndarray | None = None, shape: tuple = (1,), activation: str = "linear",
                        probe: np.ndarray | None = None) -> Evidence:
    """What grading a correct one-number adder gives the checks: output (None, *shape) from a Dense layer
    named "sum" with `activation`; its probe outputs `probe` and its hidden predictions `sums` (the true
    sums unless given), both shaped (rows, *shape)."""
    evidence = honest_evidence("digit_adder", tmp_path)
    labels = evidence.secrets["hidden_labels"]
    sums = labels.astype("float32") + 0.3 if sums is None else np.asarray(sums, dtype="float32")
    probe = np.linspace(-2.0, 3.0, PROBE_PAIRS, dtype="float32") if probe is None else probe
    description = copy.deepcopy(evidence.phases["build"].observations["model"])
    description["output_shapes"] = [[None, *shape]]
    description["layers"][-1] |= {"output_shape": [None, *shape], "trainable_params": 21,
                                  "kernel_shape": [20, 1], "config": {"activation": activation, "units": 1}}
    evidence = _with(evidence, "build", {"probe_outputs": probe.reshape(PROBE_PAIRS, *shape)},
                     {"model": description, "forward": [PROBE_PAIRS, *shape]})
    return _with(evidence, "predict", {"predictions": sums.reshape(len(sums), *shape)}, {"predicted": len(sums)})


@pytest.mark.parametrize("form, shape", [("probabilities", None), ("number", (1,)), ("number", ())])
def test_a_correct_adder_of_either_form_earns_full_marks(form, shape, tmp_path):
    evidence = honest_evidence("digit_adder", tmp_path) if form == "probabilities" else \
        regression_evidence(tmp_path, shape=shape)
    outcomes = [score(check, evidence) for check in ASSIGNMENT.checks]
    assert [outcome.status for outcome in outcomes] == ["passed"] * 3, outcomes
    assert sum(check.points for check in ASSIGNMENT.checks) == 20


# Each check's message says which form the grader read.
FORM_WORDS = [
    ("probabilities", SHAPES, "output [(None, 19)] as expected: 19 probabilities of the sums 0..18."),
    ("probabilities", OUTPUT, "Read as 19 probabilities per pair. Each of the 16 output rows is a probability"),
    ("probabilities", ACCURACY, "Read as 19 probabilities per pair; the largest is the predicted sum."),
    ("number", SHAPES, "output [(None, 1)] as expected: one number per pair: the sum."),
    ("number", OUTPUT, "Read as one number per pair, the sum. One finite number per pair on 16 pairs, from an "
                       "output that can reach 0..18."),
    ("number", ACCURACY, "Read as one number per pair, rounded to the nearest sum in 0..18 (x.5 rounds up)."),
]


@pytest.mark.parametrize("form, check, words", FORM_WORDS, ids=[f"{f}-{c.name[:20]}" for f, c, _ in FORM_WORDS])
def test_the_feedback_says_which_form_it_read(form, check, words, tmp_path):
    evidence = honest_evidence("digit_adder", tmp_path) if form == "probabilities" else regression_evidence(tmp_path)
    assert words in score(check, evidence).message


@pytest.mark.parametrize("offsets, correct", [
    ([0.0] * HIDDEN, HIDDEN),
    ([0.49] * HIDDEN, HIDDEN),
    ([-0.5] * HIDDEN, HIDDEN),           # x.5 rounds up, to the true sum
    ([0.5] * HIDDEN, 1),                 # ... and here one up: only the largest sum (18) is clipped back
    ([-0.51] * HIDDEN, 2),               # one down: only the two sums 0, clipped back, stay right
    ([1.0] * (HIDDEN // 2) + [0.0] * (HIDDEN // 2), HIDDEN // 2),
])
def test_one_number_per_pair_is_rounded_to_the_nearest_sum(offsets, correct, tmp_path):
    evidence = honest_evidence("digit_adder", tmp_path)
    labels = evidence.secrets["hidden_labels"]
    verdict = ACCURACY.run(regression_evidence(tmp_path, sums=labels + np.asarray(offsets)))
    assert verdict.measures["correct"] == correct


def test_numbers_beyond_the_sums_are_clipped_to_0_and_18(tmp_path):
    labels = honest_evidence("digit_adder", tmp_path).secrets["hidden_labels"]
    sums = np.where(labels == 18, 40.0, np.where(labels == 0, -7.0, labels))
    assert ACCURACY.run(regression_evidence(tmp_path, sums=sums)).measures["correct"] == HIDDEN


@pytest.mark.parametrize("activation, bound", [("sigmoid", "1"), ("tanh", "1"), ("softmax", "1"), ("relu6", "6"),
                                               ("log_softmax", "0")])
def test_an_output_that_cannot_reach_18_loses_the_form_check(activation, bound, tmp_path):
    evidence = regression_evidence(tmp_path, activation=activation, probe=np.full(PROBE_PAIRS, 0.5, "float32"))
    outcome = score(OUTPUT, evidence)
    assert (outcome.status, outcome.fraction) == ("failed", 0.0)
    assert f"Layer 'sum' ends in {activation}, whose values stay at or below {bound}; expected an output that " \
           "can reach 18, as the sum does. Likely cause: a sigmoid or softmax kept from a classifier" in outcome.message


@pytest.mark.parametrize("activation", ["linear", "relu", "softplus", "elu", None])
def test_an_output_that_can_reach_18_passes_the_form_check(activation, tmp_path):
    assert score(OUTPUT, regression_evidence(tmp_path, activation=activation)).status == "passed"


def test_only_the_layer_that_makes_the_output_decides_its_range(tmp_path):
    """A scaled sigmoid: Dense(1, sigmoid) then a layer that multiplies by 18 (no activation)."""
    evidence = regression_evidence(tmp_path, activation="sigmoid")
    description = copy.deepcopy(evidence.phases["build"].observations["model"])
    description["layers"].append({**description["layers"][-1], "name": "times_18", "class": "Rescaling",
                                  "trainable_params": 0, "config": {}})
    assert score(OUTPUT, replaced(evidence, "build", ("model",), description)).status == "passed"


@pytest.mark.parametrize("probe, fragment", [
    (np.array([1.0, np.nan] * 8, "float32"), "Your model's outputs on 16 pairs contain NaN or infinity"),
    (np.full((PROBE_PAIRS, 2), 0.5, "float32"), "On 16 pairs the model's output has shape (16, 2); expected (16, 19): "
                                                "19 probabilities per pair, or (16,) or (16, 1): one number per pair, "
                                                "the sum."),
    (np.full((PROBE_PAIRS, 1, 1), 0.5, "float32"), "has shape (16, 1, 1); expected (16, 19)"),
    (np.full((3,), 0.5, "float32"), "has shape (3,); expected (16, 19)"),
])
def test_a_wrong_number_output_loses_the_form_check(probe, fragment, tmp_path):
    evidence = honest_evidence("digit_adder", tmp_path)
    evidence = _with(evidence, "build", {"probe_outputs": probe}, {"forward": list(probe.shape)})
    outcome = score(OUTPUT, evidence)
    assert outcome.fraction == 0.0 and fragment in outcome.message


@pytest.mark.parametrize("output_shapes, fragment", [
    ([[None, 10]], "output: got [(None, 10)], expected [(None, 19)] (19 probabilities of the sums 0..18) or "
                   "[(None,)] or [(None, 1)] (one number per pair: the sum)."),
    ([[None, 2]], "output: got [(None, 2)]"),
    ([[None, 1, 1]], "output: got [(None, 1, 1)]"),
    ([[None, 1], [None, 1]], "output: got [(None, 1), (None, 1)]"),
])
def test_the_shape_check_accepts_only_the_two_forms(output_shapes, fragment, tmp_path):
    outcome = score(SHAPES, replaced(honest_evidence("digit_adder", tmp_path), "build", ("model", "output_shapes"),
                                     output_shapes))
    assert outcome.status == "failed" and fragment in outcome.message


@pytest.mark.parametrize("predictions, fragment", [
    (np.zeros((HIDDEN, 2), "float32"), f"have shape ({HIDDEN}, 2); expected ({HIDDEN}, 19) (19 probabilities per "
                                       f"pair; the largest is the predicted sum) or ({HIDDEN},) or ({HIDDEN}, 1) (one "
                                       "number per pair, rounded to the nearest sum in 0..18 (x.5 rounds up))."),
    (np.zeros((HIDDEN - 1,), "float32"), f"have shape ({HIDDEN - 1},); expected"),
    (np.zeros((HIDDEN, 1, 1), "float32"), f"have shape ({HIDDEN}, 1, 1); expected"),
    (np.array([3.0, np.inf] * (HIDDEN // 2), "float32"), "contain NaN or infinity. Likely cause: training diverged"),
])
def test_predictions_of_neither_form_score_zero(predictions, fragment, tmp_path):
    evidence = _with(regression_evidence(tmp_path), "predict", {"predictions": predictions}, {"predicted": HIDDEN})
    outcome = score(ACCURACY, evidence)
    assert outcome.fraction == 0.0 and fragment in outcome.message


def test_any_piece_of_the_number_form_of_another_type_costs_the_checks_that_read_it(tmp_path):
    """As tests/grader/checks/test_assignments.py sweeps the probability form: no check raises, and a
    check whose outcome changes scores zero when the new value is of another JSON type."""
    evidence = regression_evidence(tmp_path)
    honest = {check.name: score(check, evidence) for check in ASSIGNMENT.checks}
    for phase, outcome in evidence.phases.items():
        checks = [check for check in ASSIGNMENT.checks if phase in check.needs]
        for path in (p for p in paths(outcome.observations) if "config" not in p):
            original = get(outcome.observations, path)
            for value in ["x", True, 7, 1.5, None, [], [[None, "x"]], {}]:
                strict = None not in (original, value) and json_type(original) != json_type(value)
                for check in checks:
                    got = score(check, replaced(evidence, phase, path, value))
                    assert 0 <= got.fraction <= 1 and got.message
                    if strict and got != honest[check.name]:
                        assert got.fraction == 0, (phase, path, value, check.name, got)
