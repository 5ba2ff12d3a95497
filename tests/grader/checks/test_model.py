"""The model checks (grader/checks/model.py) on malformed model descriptions: zero points, a message
that names the malformed piece, and no exception but NotObserved."""

import math

import pytest

from grader.assignment import TAMPERED, Check
from grader.checks.model import layer_params, layer_shapes, model_shapes, outputs_are_probabilities, total_params
from tests.grader.checks.honest import MNIST_MODEL, honest_evidence, replaced, score

HUGE = 10**400

BUILDERS = {
    "model_shapes": model_shapes([[None, 28, 28, 1]], [[None, 10]]),
    "layer_shapes": layer_shapes({"conv1": [None, 28, 28, 4], "fc2": [None, 10]}),
    "layer_params": layer_params({"conv1": 104, "fc2": 5_130}),
    "non_trainable": layer_params({"conv1": 0, "fc2": 0}, trainable=False),
    "total_params": total_params(207_258, non_trainable=0),
    "probabilities": outputs_are_probabilities(16, 10, "end with a softmax."),
}
CHECKS = {name: Check(name, 1, run, needs=("build",)) for name, run in BUILDERS.items()}
MODEL_CHECKS = ("model_shapes", "layer_shapes", "layer_params", "non_trainable", "total_params")
LAYER_CHECKS = ("layer_shapes", "layer_params", "non_trainable")


@pytest.fixture
def evidence(tmp_path):
    return honest_evidence("mnist_convnet", tmp_path)


def test_the_lecture_model_passes_every_builder(evidence):
    for name, check in CHECKS.items():
        assert score(check, evidence).status == "passed", name


# (path in the build phase's observations, new value, the checks it breaks, what their message says)
MALFORMED = [
    (("model",), [], MODEL_CHECKS, "The grader cannot use its record of your model: got an empty list, expected an "
                                   "object"),
    (("model",), "Functional", MODEL_CHECKS, "got a string ('Functional'), expected an object"),
    (("model",), None, MODEL_CHECKS, "got null, expected an object"),
    (("model", "layers"), "x", LAYER_CHECKS, "its record of your model (layers): got a string ('x'), "
                                             "expected a list of layers"),
    (("model", "layers"), {"conv1": {}}, LAYER_CHECKS, "its record of your model (layers): got an object"),
    (("model", "layers", 3), "conv2", LAYER_CHECKS, "got a string ('conv2') at [3], expected a list of layers, each "
                                                    "an object"),
    (("model", "layers", 1, "name"), 5, LAYER_CHECKS, "its record of your model (the 2nd layer, name): got "
                                                      "the integer 5, expected a string"),
    (("model", "layers", 1, "name"), None, LAYER_CHECKS, "(the 2nd layer, name)"),
    (("model", "layers", 1, "trainable_params"), "many", ("layer_params",),
     "its record of your model (the 2nd layer, trainable parameters): got a string ('many'), expected an integer"),
    (("model", "layers", 1, "trainable_params"), True, ("layer_params",), "got true, expected an integer"),
    (("model", "layers", 1, "trainable_params"), 104.0, ("layer_params",), "got the number 104, expected an integer"),
    (("model", "layers", 1, "trainable_params"), [104], ("layer_params",), "got a list of 1 item"),
    (("model", "layers", 7, "non_trainable_params"), False, ("non_trainable",),
     "its record of your model (the 8th layer, non-trainable parameters): got false, expected an integer"),
    (("model", "layers", 1, "output_shape"), "(None, 28, 28, 4)", ("layer_shapes",),
     "its record of your model (the 2nd layer, output shape): got a string ('(None, 28, 28, 4)'), "
     "expected a shape"),
    (("model", "layers", 1, "output_shape"), [None, "28", 28, 4], ("layer_shapes",), "got a string ('28') at [1]"),
    (("model", "layers", 1, "output_shape"), [None, 28.0, 28, 4], ("layer_shapes",), "got the number 28 at [1]"),
    (("model", "layers", 1, "output_shape"), [None, True, 28, 4], ("layer_shapes",), "got true at [1]"),
    (("model", "layers", 1, "output_shape"), 4, ("layer_shapes",), "got the integer 4, expected a shape"),
    (("model", "input_shapes"), "x", ("model_shapes",), "its record of your model (input shapes): got "
                                                        "a string ('x'), expected a list of shapes"),
    (("model", "input_shapes"), [], ("model_shapes",), "got an empty list, expected a list of shapes"),
    (("model", "output_shapes"), [None, 10], ("model_shapes",), "its record of your model (output shapes)"),
    (("model", "output_shapes"), [[None, HUGE]], ("model_shapes",), "got an integer of more than 20 digits at [0][1]"),
    (("model", "trainable_params"), "many", ("total_params",), "its record of your model (trainable parameters): "
                                                               "got a string ('many'), expected an integer"),
    (("model", "trainable_params"), math.nan, ("total_params",), "got NaN, expected an integer"),
    (("model", "non_trainable_params"), None, ("total_params",), "its record of your model (non-trainable parameters)"),
    (("errors",), ["build_model"], CHECKS, "the errors your code raised are a list of 1 item; expected an object"),
    (("errors",), {"forward": "boom"}, CHECKS, "one of the errors your code raised is a string ('boom')"),
    (("seconds",), {"forward": "0.1"}, CHECKS, "how long each step of the grader took: one time is a string ('0.1')"),
    (("phase",), ["build"], CHECKS, "which phase ran is a list of 1 item; expected a string"),
]


@pytest.mark.parametrize("path, value, broken, fragment", MALFORMED,
                         ids=[f"{'.'.join(map(str, p))}={v!r:.20}" for p, v, _, _ in MALFORMED])
def test_a_malformed_description_scores_zero_with_a_reason(evidence, path, value, broken, fragment):
    bad = replaced(evidence, "build", path, value)
    for name in broken:
        outcome = score(CHECKS[name], bad)
        assert (outcome.status, outcome.fraction) == ("error", 0.0), (name, outcome)
        assert fragment in outcome.message, name
        assert outcome.message.endswith(TAMPERED)
    for name in set(CHECKS) - set(broken):
        assert score(CHECKS[name], bad) == score(CHECKS[name], evidence), f"{name} does not read {path}"


def test_a_layer_is_not_missing_when_its_whole_check_is_malformed(evidence):
    # Partial credit is for well-formed layers: a malformed one costs the whole check.
    bad = replaced(evidence, "build", ("model", "layers", 7, "trainable_params"), "5130")
    assert score(CHECKS["layer_params"], bad).fraction == 0.0


@pytest.mark.parametrize("path, value, name, message", [
    (("model", "layers", 1, "trainable_params"), 40, "layer_params",
     "Layer 'conv1': trainable parameters got 40, expected 104."),
    (("model", "layers", 1, "output_shape"), [None, 24, 24, 4], "layer_shapes",
     "Layer 'conv1': output shape got (None, 24, 24, 4), expected (None, 28, 28, 4)."),
    (("model", "layers", 1, "output_shape"), None, "layer_shapes",
     "Layer 'conv1': output shape got unknown, expected (None, 28, 28, 4)."),
    (("model", "layers", 1, "name"), "conv_1", "layer_params", "Your model has no layer named 'conv1' (it has: image, "
                                                               "conv_1, pool1"),
    (("model", "trainable_params"), 207_194, "total_params",
     "Trainable parameters: got 207,194, expected 207,258."),
    (("model", "output_shapes"), [[None, 10], [None, 10]], "model_shapes",
     "Model shapes are wrong: output: got [(None, 10), (None, 10)], expected [(None, 10)]."),
])
def test_well_formed_but_wrong_keeps_its_feedback(evidence, path, value, name, message):
    outcome = score(CHECKS[name], replaced(evidence, "build", path, value))
    assert outcome.status in ("failed", "partial")
    assert message in outcome.message


def test_false_is_not_zero_parameters(tmp_path):
    # Python's False == 0: a description saying "trainable_params": false must not pass as 0.
    evidence = honest_evidence("lenet5", tmp_path)
    check = Check("rbf", 1, layer_params({"output": 0}, step="build_lenet5"), needs=("build",))
    assert score(check, evidence).status == "passed"
    outcome = score(check, replaced(evidence, "build", ("model", "layers", 8, "trainable_params"), False))
    assert (outcome.status, outcome.fraction) == ("error", 0.0)
    assert "its record of your model (the 9th layer, trainable parameters): got false" in outcome.message


def test_forward_is_only_needed_to_be_there(evidence):
    check = CHECKS["probabilities"]
    assert score(check, replaced(evidence, "build", ("forward",), "x")).status == "passed"
    outcome = score(check, replaced(evidence, "build", ("errors",), {"forward": {"type": 3}}))
    assert outcome.status == "error" and "has a type that is the integer 3" in outcome.message
