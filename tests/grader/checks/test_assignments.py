"""Every assignment's checks (assignments/*/checks.py) on malformed observations: the checks that
read a malformed piece score zero and say what it is, the others are unmoved, and none raises."""

import math
import re

import pytest

from grader.assignment import ASSIGNMENTS_DIR, TAMPERED, assignment_names, load_assignment
from tests.grader.checks.honest import get, honest_evidence, json_type, paths, replaced, score

HUGE = 10**400
# One value of every JSON type, and the awkward ones: NaN, a 400-digit integer, nesting.
REPLACEMENTS = ["x", True, 7, 1.5, math.nan, HUGE, None, [], [[None, "x"]], {}, {"x": []}]
# conv_ops records ~70 cases alike: one of each function and kind is enough for the sweep.
CONV_OPS_SAMPLE = ("example1_xcorr", "output_size_7_3_0_1", "output_size_invalid_7_3_0_3", "param_count_5_3_10_True",
                   "public_bias_0", "example4_max_pool")


@pytest.mark.parametrize("name", assignment_names())
def test_honest_observations_earn_full_marks(name, tmp_path):
    evidence = honest_evidence(name, tmp_path)
    for check in load_assignment(name).checks:
        assert score(check, evidence).status == "passed", check.name


def _swept(name: str, path: tuple) -> bool:
    if "config" in path:  # read by no check
        return False
    return not (name == "conv_ops" and path[0] == "results" and len(path) > 1 and path[1] not in CONV_OPS_SAMPLE)


def _probe_keys(name: str, evidence) -> set[str]:
    """The probe's own names for what it records (keys of two words or more, "c3_reacts"), which no
    message may show. Names the starter shows the student (build_resnet's input_shape) are theirs,
    and conv_ops's case names ("example1_xcorr") are the cases' labels, shown on purpose."""
    keys = set()
    for outcome in evidence.phases.values():
        for path in paths(outcome.observations):
            keys.update(key for key in path if isinstance(key, str) and "_" in key)
    starter = (ASSIGNMENTS_DIR / name / "starter.py").read_text()
    return {key for key in keys if key not in starter} - set(evidence.secrets.get("cases", {}))


def _probe_names(message: str, keys: set[str]) -> list[str]:
    """The probe's keys, file names and paths that `message` names."""
    named = [key for key in keys if re.search(rf"(?<![\w(]){re.escape(key)}(?!\w)", message)]
    return named + [name for name in ("observations.json", ".npy", "model.layers", '"errors"') if name in message]


@pytest.mark.parametrize("name", assignment_names())
def test_any_piece_of_another_type_costs_the_checks_that_read_it(name, tmp_path):
    """Every position in every phase's observations, replaced by every value of REPLACEMENTS: no check
    raises, and a check whose outcome changes scores zero when the new value is of another JSON type
    (null aside, which some positions may hold: a layer's unknown output shape). No message names
    the probe's keys: it says in words which of the grader's records was wrong."""
    assignment, evidence = load_assignment(name), honest_evidence(name, tmp_path)
    honest = {check.name: score(check, evidence) for check in assignment.checks}
    keys = _probe_keys(name, evidence)
    for phase, outcome in evidence.phases.items():
        checks = [check for check in assignment.checks if phase in check.needs]
        for path in filter(lambda p: _swept(name, p), paths(outcome.observations)):
            original = get(outcome.observations, path)
            for value in REPLACEMENTS:
                bad = replaced(evidence, phase, path, value)
                strict = None not in (original, value) and json_type(original) != json_type(value)
                for check in checks:
                    got = score(check, bad)
                    assert 0 <= got.fraction <= 1 and got.message
                    assert not _probe_names(got.message, keys), (phase, path, value, check.name, got.message)
                    if strict and got != honest[check.name]:
                        assert got.fraction == 0, (phase, path, value, check.name, got)


@pytest.mark.parametrize("name", assignment_names())
@pytest.mark.parametrize("observations", [[], "x", None, 3])
def test_observations_that_are_no_object_cost_every_check_of_the_phase(name, observations, tmp_path):
    assignment, evidence = load_assignment(name), honest_evidence(name, tmp_path)
    for phase in evidence.phases:
        bad = replaced(evidence, phase, (), observations)
        for check in assignment.checks:
            got = score(check, bad)
            if got != score(check, evidence):
                assert got.status == "error"
                assert "The grader cannot use its record of what your code did: it holds" in got.message


# (assignment, phase, path, new value, the check it breaks, what its message says)
MALFORMED = [
    ("conv_ops", "run", ("frameworks_loaded",), "keras", "NumPy only",
     "its record of the frameworks loaded with your file: got a string ('keras'), expected a list of module names"),
    ("conv_ops", "run", ("frameworks_loaded",), ["numpy", ["keras"]], "conv2d: the course's worked examples",
     "got a list of 1 item at [1], expected a list of module names"),
    ("conv_ops", "run", ("results",), [], "conv2d: bias",
     "its record of your functions' answers: got an empty list, expected an object"),
    ("conv_ops", "run", ("results", "example1_xcorr"), "x", "conv2d: the course's worked examples",
     "its record of your functions' answers (case example1_xcorr): got a string ('x'), expected an object"),
    ("conv_ops", "run", ("results", "output_size_7_3_0_1", "scalar"), "5", "output_size",
     "its record of your functions' answers (case output_size_7_3_0_1, number): got a string ('5'), "
     "expected a number"),
    ("conv_ops", "run", ("results", "output_size_7_3_0_1", "scalar"), True, "output_size", "got true, expected a number"),
    ("conv_ops", "run", ("results", "output_size_invalid_7_3_0_3", "error"), "ValueError",
     "output_size rejects strides that do not fit", "its record of your functions' answers (case "
                                                    "output_size_invalid_7_3_0_3, error): got a string ('ValueError')"),
    ("conv_ops", "run", ("results", "output_size_invalid_7_3_0_3", "error", "type"), ["ValueError"],
     "output_size rejects strides that do not fit", "(case output_size_invalid_7_3_0_3, error type): got a list of "
                                                    "1 item, expected a string"),
    ("conv_ops", "run", ("results", "output_size_invalid_7_3_0_3", "error", "message"), 3,
     "output_size rejects strides that do not fit", "(case output_size_invalid_7_3_0_3, error message): got the "
                                                    "integer 3"),
    ("conv_ops", "run", ("errors",), {"example1_xcorr": None}, "NumPy only",
     "its record of what your code did: one of the errors your code raised is null"),
    ("mnist_convnet", "build", ("model", "layers", 6, "trainable_params"), "201,216", "parameters per layer",
     "its record of your model (the 7th layer, trainable parameters): got a string ('201,216')"),
    ("mnist_convnet", "build", ("model", "input_shapes", 0), "28x28", "model input and output shapes",
     "its record of your model (input shapes): got a string ('28x28') at [0]"),
    ("mnist_convnet", "predict", ("predicted",), "2000", "accuracy on hidden digits after the course recipe",
     "its record of your model's predictions: got a string ('2000'), expected an integer"),
    ("digit_adder", "build", ("model", "output_shapes"), [[None, "19"]], "inputs: two (None, 28, 28, 1) images; "
                                                                         "output (None, 19) or one number per pair",
     "got a string ('19') at [0][1], expected a list of shapes"),
    ("digit_adder", "build", ("device",), 2, "output: probabilities of the sums 0..18, or the sum",
     "the device your code ran on is the integer 2; expected a string"),
    ("lenet5", "build", ("c3_reacts",), "all", "C3 follows the connection table",
     "its record of which S2 maps each C3 map reacts to: got a string ('all'), expected a list of 6 rows of "
     "true/false"),
    ("lenet5", "build", ("c3_reacts", 2, 5), 1, "C3 follows the connection table", "got the integer 1 at [2][5]"),
    ("lenet5", "build", ("c3_reacts", 2), [True] * 15, "C3 follows the connection table",
     "its rows have [15, 16] entries; expected rows of the same length"),
    ("lenet5", "build", ("model", "layers", 3, "trainable_params"), None, "C1..F6 hold 60,000 trainable parameters",
     "its record of your model (the 4th layer, trainable parameters): got null, expected an integer"),
    ("lenet5", "build", ("model", "layers", 3), ["c3"], "C1..F6 hold 60,000 trainable parameters",
     "its record of your model (layers): got a list of 1 item at [3], expected a list of layers"),
    ("resnet", "build", ("basic_identity",), [[None, 8, 8, 16]], "basic_block output shapes",
     "its record of your basic_block with an identity shortcut: got a list of 1 item, expected an object"),
    ("resnet", "build", ("bottleneck_widen", "output_shapes"), [], "bottleneck_block output shapes",
     "its record of your bottleneck_block that widens the channels (output shapes): got an empty list, expected a "
     "list of shapes"),
    ("resnet", "build", ("basic_downsample", "trainable_params"), True,
     "block parameters: no bias, BN, projection only where the shape changes",
     "its record of your basic_block that downsamples (trainable parameters): got true, expected an integer"),
    ("resnet", "build", ("resnet34", "trainable_params"), "21.8M", "ResNet-18..152 trainable parameters",
     "its record of the model build_resnet(34) returned (trainable parameters): got a string ('21.8M'), expected "
     "an integer"),
    ("resnet", "build", ("resnet50", "layers", 3, "kernel_shape"), [1, 1, "64", 256],
     "ResNet-18..152 multiply-adds within 3% of the paper",
     "its record of the model build_resnet(50) returned (the 4th layer, kernel shape): got a string ('64') at [2], "
     "expected a kernel shape"),
    ("resnet", "build", ("resnet50", "layers", 3, "kernel_shape"), [1, 1, 2**64, 1],
     "ResNet-18..152 multiply-adds within 3% of the paper", "got the integer 18446744073709551616 at [2]"),
    ("resnet", "build", ("resnet101", "layers", 1, "output_shape"), "big",
     "ResNet-18..152 multiply-adds within 3% of the paper",
     "its record of the model build_resnet(101) returned (the 2nd layer, output shape)"),
    ("resnet", "build", ("resnet18_small", "input_shapes"), [[None, 64.0, 64, 3]],
     "build_resnet input_shape and num_classes", "got the number 64 at [0][1]"),
]


@pytest.mark.parametrize("name, phase, path, value, check_name, fragment", MALFORMED,
                         ids=[f"{m[0]}:{'.'.join(map(str, m[2]))}" for m in MALFORMED])
def test_a_malformed_observation_scores_zero_with_a_reason(name, phase, path, value, check_name, fragment, tmp_path):
    evidence = honest_evidence(name, tmp_path)
    [check] = [c for c in load_assignment(name).checks if c.name == check_name]
    outcome = score(check, replaced(evidence, phase, path, value))
    assert (outcome.status, outcome.fraction) == ("error", 0.0), outcome
    assert fragment in outcome.message
    assert outcome.message.endswith(TAMPERED)


@pytest.mark.parametrize("scalar, message", [
    (HUGE, "output_size(7, 3, 0, 1): got an integer of more than 20 digits, expected 5."),
    (2**64, "output_size(7, 3, 0, 1): got 18446744073709551616, expected 5."),
    (math.nan, "output_size(7, 3, 0, 1): got nan, expected 5."),
    (-math.inf, "output_size(7, 3, 0, 1): got -inf, expected 5."),
    (5.5, "output_size(7, 3, 0, 1): got 5.5, expected 5."),
])
def test_a_function_may_return_any_number_and_is_told_it_is_wrong(scalar, message, tmp_path):
    evidence = honest_evidence("conv_ops", tmp_path)
    [check] = [c for c in load_assignment("conv_ops").checks if c.name == "output_size"]
    outcome = score(check, replaced(evidence, "run", ("results", "output_size_7_3_0_1", "scalar"), scalar))
    assert outcome.status == "partial"
    assert message in outcome.message


def test_a_resnet_of_unknown_height_is_told_why_its_multiply_adds_are_not_counted(tmp_path):
    evidence = honest_evidence("resnet", tmp_path)
    [check] = [c for c in load_assignment("resnet").checks if c.name.startswith("ResNet-18..152 multiply-adds")]
    outcome = score(check, replaced(evidence, "build", ("resnet50", "layers", 1, "output_shape"), [None, None, None, 64]))
    assert outcome.status == "partial"
    assert ("ResNet-50: Layer 'conv1_conv' has output shape (None, None, None, 64), so the grader cannot count its "
            "multiply-adds.") in outcome.message


@pytest.mark.parametrize(("key", "value", "message"), [
    ("resnet50", [[None, 1, 1, 1000]], "build_resnet(50): got (None, 224, 224, 3) -> (None, 1, 1, 1000), expected "
     "(None, 224, 224, 3) -> (None, 1000). Likely cause: no Flatten/GlobalAveragePooling2D before the classifier "
     "at depth 50: the bottleneck path."),
    ("resnet34", [[None, 7, 7, 1000]], "at depth 34: the basic-block path."),
    ("resnet152", [[None, 10]], "build_resnet(152): got (None, 224, 224, 3) -> (None, 10)"),
    ("resnet18_small", [[None, 1000]], "Dense(num_classes) with build_resnet's num_classes argument"),
])
def test_a_resnet_output_shape_wrong_at_one_depth_costs_the_shape_check_and_names_the_depth(key, value, message,
                                                                                            tmp_path):
    evidence = honest_evidence("resnet", tmp_path)
    [check] = [c for c in load_assignment("resnet").checks if c.name == "build_resnet input_shape and num_classes"]
    assert score(check, evidence).status == "passed"
    outcome = score(check, replaced(evidence, "build", (key, "output_shapes"), value))
    assert outcome.status == "failed"
    assert message in outcome.message


@pytest.mark.parametrize("check_name", ["ResNet-18..152 trainable parameters",
                                        "ResNet-18..152 multiply-adds within 3% of the paper"])
def test_one_error_at_every_resnet_depth_is_one_line(check_name, tmp_path):
    evidence = honest_evidence("resnet", tmp_path)
    error = {"type": "NotImplementedError", "message": "TODO", "traceback": "  line 112, in build_resnet"}
    for depth in (18, 34, 50, 101, 152):
        evidence = replaced(evidence, "build", (f"resnet{depth}",), None)
        del evidence.phases["build"].observations[f"resnet{depth}"]
        evidence.phases["build"].observations["errors"][f"resnet{depth}"] = error
    [check] = [c for c in load_assignment("resnet").checks if c.name == check_name]
    outcome = score(check, evidence)
    assert (outcome.status, outcome.message) == (
        "error", "Not checked: build_resnet() raised NotImplementedError (the error is shown once, at the top).")
