"""The typed access to observations (grader/checks/__init__.py) and the keys every probe writes
(grader/assignment.py): malformed JSON is named with got/expected, and nothing raises on it."""

import math

import re

import pytest

from grader.assignment import TAMPERED, Evidence, PhaseOutcome, common_keys_problem, describe_json
from grader.checks import (BOOLEAN, INTEGER, OBJECT, SHAPE, SHAPES, SIZE, STRING, Malformed, NotObserved, entry,
                           list_of, observed, record_words)
from tests.grader.checks.honest import driver_keys

HUGE = 10**400


@pytest.mark.parametrize("value, described", [
    (None, "null"), (True, "true"), (False, "false"), (3, "the integer 3"), (HUGE, "an integer of more than 20 digits"),
    (1.5, "the number 1.5"), (math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity"),
    ("many", "a string ('many')"), ("", "an empty string"), ("x" * 100, "a string ('" + "x" * 40 + "...')"),
    ([1], "a list of 1 item"), ([1, 2], "a list of 2 items"), ([], "an empty list"), ({"a": 1}, "an object"),
    ({}, "an empty object"),
])
def test_describe_json(value, described):
    assert describe_json(value) == described


MODULES = list_of(STRING, "a list of module names")


@pytest.mark.parametrize("kind, value, problem", [
    (INTEGER, 7, None),
    (INTEGER, -7, None),
    (INTEGER, HUGE, None),
    (INTEGER, True, "got true, expected an integer"),
    (INTEGER, 7.0, "got the number 7, expected an integer"),
    (INTEGER, "7", "got a string ('7'), expected an integer"),
    (SIZE, -1, "got the integer -1, expected a size (a non-negative integer)"),
    (SIZE, 2**63, "got the integer 9223372036854775808, expected a size"),
    (BOOLEAN, 1, "got the integer 1, expected true or false"),
    (OBJECT, [], "got an empty list, expected an object"),
    (STRING, None, "got null, expected a string"),
    (MODULES, ["numpy"], None),
    (MODULES, "numpy", "got a string ('numpy'), expected a list of module names"),
    (MODULES, ["numpy", 3], "got the integer 3 at [1], expected a list of module names"),
    (SHAPE, None, None),
    (SHAPE, [None, 28, 28, 4], None),
    (SHAPE, [], None),
    (SHAPE, [[None, 10], [None, 10]], None),
    (SHAPE, "(None, 28)", "got a string ('(None, 28)'), expected a shape"),
    (SHAPE, [None, "28"], "got a string ('28') at [1], expected a shape"),
    (SHAPE, [None, 28.0], "got the number 28 at [1]"),
    (SHAPE, [None, True], "got true at [1]"),
    (SHAPE, [[None, 10], 10], "got the integer 10 at [1]"),
    (SHAPE, [[None, {}]], "got an empty object at [0][1]"),
    (SHAPE, {"0": None}, "got an object, expected a shape"),
    (SHAPE, [[[[[[[[[[1]]]]]]]]]], "got shapes nested more than 8 deep at [0][0][0][0][0][0][0][0]"),
    (SHAPES, [[None, 28, 28, 1]], None),
    (SHAPES, [], "got an empty list, expected a list of shapes"),
    (SHAPES, [None, 28, 28, 1], "got null at [0], expected a list of shapes"),
    (SHAPES, [[None, -28]], "got the integer -28 at [0][1], expected a list of shapes"),
])
def test_a_kind_says_got_what_expected_what(kind, value, problem):
    if problem is None:
        assert kind.problem(value) is None
    else:
        assert problem in kind.problem(value)


def test_entry_names_the_record_in_words_and_refuses_a_missing_key():
    with pytest.raises(Malformed, match=r"^The grader cannot use its record of your model \(the 3rd layer, trainable "
                                        r"parameters\): got a string \('many'\), expected an integer\. Likely cause"):
        entry({"trainable_params": "many"}, "trainable_params", INTEGER, "model.layers[2]")
    with pytest.raises(Malformed, match="^The grader cannot use its record of your model: it has no layers"):
        entry({}, "layers", list_of(OBJECT, "layers"), "model")


@pytest.mark.parametrize("what, words", [
    ("model", "its record of your model"),
    ("model.input_shapes", "its record of your model (input shapes)"),
    ("model.layers[0].output_shape", "its record of your model (the 1st layer, output shape)"),
    ("model.layers[21].name", "its record of your model (the 22nd layer, name)"),
    ("model.layers[12]", "its record of your model (the 13th layer)"),
    ("c3_reacts", "its record of which S2 maps each C3 map reacts to"),
    ("forward", "its record of your model's outputs on the grader's test images"),
    ("predicted", "its record of your model's predictions"),
    ("results['example1_xcorr'].error.type", "its record of your functions' answers (case example1_xcorr, error type)"),
    ("resnet50.layers[3].kernel_shape", "its record of the model build_resnet(50) returned (the 4th layer, kernel shape)"),
    ("bottleneck_widen.output_shapes", "its record of your bottleneck_block that widens the channels (output shapes)"),
    ("model.layers[1].novel_field", "its record of your model (the 2nd layer, one of its entries)"),
    ("a_key_no_table_names.layers[2]", "one of its records of your code"),
    ("model..layers", "one of its records of your code"),
    ("", "one of its records of your code"),
])
def test_a_record_is_named_in_words_never_by_the_probes_key(what, words):
    assert record_words(what) == words


def test_the_probes_own_keys_are_well_formed():
    assert common_keys_problem(driver_keys("build", "build_model")) is None
    assert common_keys_problem({}) is None  # absent keys are for the checks to miss
    error = {"type": "ValueError", "message": "bad", "traceback": "  File submission.py, line 3"}
    assert common_keys_problem({**driver_keys("run"), "errors": {"import": error}}) is None
    # A step timing of 400 digits is a (silly) number; the report leaves it out (huge_step_seconds.py).
    assert common_keys_problem({"seconds": {"import": HUGE}}) is None


@pytest.mark.parametrize("observations, fragment", [
    (["x"], "it holds a list of 1 item; expected an object"),
    ("x", "it holds a string ('x'); expected an object"),
    ({"errors": ["x"]}, "the errors your code raised are a list of 1 item; expected an object with one error per step"),
    ({"errors": "x"}, "the errors your code raised are a string ('x')"),
    ({"errors": {"import": "boom"}}, "one of the errors your code raised is a string ('boom'); expected an object "
                                     "with the type, message and traceback of an exception"),
    ({"errors": {"import": {"type": 3}}}, "one of the errors your code raised has a type that is the integer 3; "
                                          "expected a string"),
    ({"errors": {"import": {"type": "E", "message": ["x"]}}}, "has a message that is a list of 1 item"),
    ({"errors": {"import": {"type": "E", "traceback": None}}}, "has a traceback that is null"),
    ({"errors": {"s" * 100: []}}, "one of the errors your code raised is an empty list"),
    ({"seconds": []}, "how long each step of the grader took is an empty list; expected an object with one time per step"),
    ({"seconds": {"import": "1.0"}}, "how long each step of the grader took: one time is a string ('1.0'); "
                                     "expected a finite number"),
    ({"seconds": {"import": math.nan}}, "one time is NaN; expected a finite number"),
    ({"seconds": {"import": True}}, "one time is true; expected a finite number"),
    ({"phase": 3}, "which phase ran is the integer 3; expected a string"),
    ({"wall_seconds": "3"}, "how long the phase took is a string ('3'); expected a finite number"),
    ({"wall_seconds": math.inf}, "how long the phase took is Infinity"),
    ({"device": {"gpu": True}}, "the device your code ran on is an object; expected a string"),
    ({"errors": [], "seconds": []}, "the errors your code raised are an empty list; expected an object with one error "
                                    "per step; how long each step of the grader took is an empty list"),
])
def test_malformed_common_keys_are_named(observations, fragment):
    problem = common_keys_problem(observations)
    assert problem.startswith("The grader cannot use its record of what your code did: ")
    assert fragment in problem
    assert problem.endswith(TAMPERED)
    for key in ("errors", "seconds", "wall_seconds", "phase", "device", "import", "observations.json"):
        assert f"'{key}'" not in problem and f'"{key}"' not in problem and "_seconds" not in problem


@pytest.mark.parametrize("observations", [
    {"errors": ["build_model"]}, {"errors": "build_model"}, {"errors": {"build_model": "boom"}},
    {"errors": {"build_model": ["boom"]}}, {"errors": None}, {"errors": 3}, [], "x", None,
])
def test_error_of_never_raises_on_malformed_errors(observations):
    assert PhaseOutcome("build", True, observations, None).error_of("build_model") is None


@pytest.mark.parametrize("error, shown", [
    ({"type": "ValueError", "message": "bad shape", "traceback": "line 3"}, "ValueError: bad shape\nline 3"),
    ({}, "Error:"),
    ({"type": 3, "message": ["x"], "traceback": None}, "Error:"),
    ({"type": "KeyError", "message": {"a": 1}}, "KeyError:"),
])
def test_error_of_formats_what_it_can(error, shown):
    assert PhaseOutcome("build", True, {"errors": {"build_model": error}}, None).error_of("build_model") == shown


def _evidence(observations: dict, functions: tuple[str, ...] = ()) -> Evidence:
    return Evidence({"build": PhaseOutcome("build", True, observations, None)}, functions=functions)


def test_observed_checks_the_kind_it_is_told():
    evidence = _evidence({**driver_keys("build"), "model": [], "count": True})
    with pytest.raises(Malformed, match="its record of your model: got an empty list, expected an object"):
        observed(evidence, "build", "model", expect=OBJECT)
    with pytest.raises(Malformed, match="one of its records of your code: got true, expected an integer"):
        observed(evidence, "build", "count", expect=INTEGER)
    assert observed(evidence, "build", "model") == []  # without `expect`, as before


def test_observed_refuses_malformed_common_keys_before_reading_errors():
    evidence = _evidence({"errors": {"build_model": "boom"}, "model": {}})
    with pytest.raises(Malformed, match="one of the errors your code raised is a string"):
        observed(evidence, "build", "model", step="build_model")


STOPPED = "Not checked: build_model() raised TypeError (the error is shown once, at the top)."


def test_a_missing_observation_or_a_student_error_is_not_called_malformed():
    evidence = _evidence({**driver_keys("build"), "errors": {"build_model": {"type": "TypeError", "message": "no"}}},
                         functions=("build_model",))
    with pytest.raises(NotObserved) as raised:
        observed(evidence, "build", "model", step="build_model", expect=OBJECT)
    assert str(raised.value) == STOPPED and not isinstance(raised.value, Malformed)
    # A later step that found nothing to work on names the error that stopped it, not its own key.
    with pytest.raises(NotObserved) as raised:
        observed(evidence, "build", "forward", expect=OBJECT)
    assert str(raised.value) == STOPPED and not isinstance(raised.value, Malformed)


@pytest.mark.parametrize("traceback, raiser", [
    ('  line 12, in build_model\n    return helper()\n  line 3, in helper\n    raise TypeError("no")', "build_model()"),
    ("  cell 7, line 3, in <module>\n    import torch", "importing your file"),
    ('  File "/usr/lib/keras/layer.py", line 9, in call\n    raise TypeError("no")', "build_model()"),
])
def test_the_one_line_names_the_outermost_function_of_the_students_file(traceback, raiser):
    evidence = _evidence({**driver_keys("build"), "errors": {
        "build_model": {"type": "TypeError", "message": "no", "traceback": traceback}}}, functions=("build_model",))
    with pytest.raises(NotObserved, match=f"^Not checked: {re.escape(raiser)} raised TypeError "):
        observed(evidence, "build", "model", step="build_model")


def test_a_missing_observation_without_an_error_names_the_function_not_the_key():
    evidence = _evidence(driver_keys("build"), functions=("build_lenet5",))
    with pytest.raises(NotObserved) as raised:
        observed(evidence, "build", "c3_reacts")
    assert "build_lenet5()" in str(raised.value) and "c3" not in str(raised.value)
