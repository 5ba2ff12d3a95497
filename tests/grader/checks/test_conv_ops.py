"""conv_ops's checks beyond the sweep of test_assignments.py: one line for a function that raised on
every case, and the report's heat maps of wrong conv2d answers (assignments/conv_ops/checks.py)."""

import copy

import numpy as np
import pytest

from assignments.conv_ops import checks as conv_ops
from grader.assignment import Evidence, PhaseOutcome, load_assignment
from grader.config import REPO_ROOT, Config
from grader.grading import grade_path
from tests.grader.checks.honest import honest_evidence, score

ASSIGNMENT = load_assignment("conv_ops")
STARTER = REPO_ROOT / "assignments" / "conv_ops" / "starter.py"


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Config:
    return Config(use_keras_download=False, secret_path=tmp_path_factory.mktemp("secret") / "secret")


def _with(evidence: Evidence, results: dict | None = None, errors: dict | None = None,
          arrays: dict[str, np.ndarray] | None = None) -> Evidence:
    """`evidence` with some cases' results, the probe's recorded errors and answer arrays replaced."""
    run = evidence.phases["run"]
    observations = copy.deepcopy(run.observations)
    observations["results"].update(results or {})
    observations["errors"].update(errors or {})
    for name, array in (arrays or {}).items():
        np.save(run.out_dir / f"{name}.npy", array, allow_pickle=False)
    return Evidence({"run": PhaseOutcome("run", True, observations, run.out_dir)}, evidence.secrets,
                    ASSIGNMENT.functions)


def _raising(evidence: Evidence, function: str, kind: str = "NotImplementedError", message: str = "TODO",
             cases: list[str] | None = None) -> Evidence:
    """Every case of `function` (or only `cases`) raised, as the probe records it."""
    chosen = cases or [case.id for case in evidence.secrets["cases"].values() if case.function == function]
    error = {"type": kind, "message": message}
    where = f'  line 50, in {function}\n    raise {kind}("{message}")'
    return _with(evidence, {case: {"error": error} for case in chosen},
                 {case: {**error, "traceback": where} for case in chosen})


def _check(name: str):
    [check] = [check for check in ASSIGNMENT.checks if check.name == name]
    return check


SHOWN_ONCE = "raised NotImplementedError (the error is shown once, at the top)."


@pytest.mark.parametrize("function, check_name, message", [
    ("conv2d", "conv2d: the course's worked examples", f"Not checked: conv2d() {SHOWN_ONCE}"),
    ("conv2d", "conv2d: groups", f"Not checked: conv2d() {SHOWN_ONCE}"),
    ("output_size", "output_size rejects strides that do not fit", f"Not checked: output_size() {SHOWN_ONCE}"),
    ("conv_param_count", "conv_param_count", f"Not checked: conv_param_count() {SHOWN_ONCE}"),
])
def test_a_function_that_raised_on_every_case_stops_its_checks_in_one_line(function, check_name, message, tmp_path):
    outcome = score(_check(check_name), _raising(honest_evidence("conv_ops", tmp_path), function))
    assert (outcome.status, outcome.message) == ("error", message)


def test_a_check_of_two_functions_says_one_line_for_the_one_that_raised(tmp_path):
    evidence = _raising(honest_evidence("conv_ops", tmp_path), "avg_pool2d")
    outcome = score(_check("max_pool2d and avg_pool2d"), evidence)
    assert outcome.status == "partial"
    assert outcome.message == f"Pooling: 4 of 9 cases wrong.\n- Not checked: avg_pool2d() {SHOWN_ONCE}"


def test_errors_that_differ_from_case_to_case_are_listed_case_by_case(tmp_path):
    evidence = honest_evidence("conv_ops", tmp_path)
    evidence = _raising(evidence, "conv2d", "IndexError", "index 5 is out of bounds", ["example1_xcorr"])
    evidence = _raising(evidence, "conv2d", "IndexError", "index 7 is out of bounds", ["example2_xcorr"])
    outcome = score(_check("conv2d: the course's worked examples"), evidence)
    assert outcome.status == "partial"
    assert outcome.message.splitlines()[1:] == [
        "- [example1_xcorr] conv2d(x, w) raised IndexError: index 5 is out of bounds",
        "- [example2_xcorr] conv2d(x, w) raised IndexError: index 7 is out of bounds"]


def test_the_value_error_a_case_asks_for_is_a_right_answer(tmp_path):
    evidence = _raising(honest_evidence("conv_ops", tmp_path), "output_size", "ValueError", "the stride does not fit")
    assert score(_check("output_size rejects strides that do not fit"), evidence).status == "passed"
    assert score(_check("output_size"), evidence).message == "Not checked: output_size() raised ValueError (the error is shown once, at the top)."


def test_the_untouched_starter_shows_each_error_once_and_each_check_in_one_line(config):
    report = grade_path(STARTER, ASSIGNMENT, config, self_check=True)
    raised = [note for note in report.notes if note.startswith("Your code raised an error")]
    assert [note.split("\n")[0] for note in raised] == [
        f"Your code raised an error in {function}(), so the checks that need it were not run:"
        for function in ASSIGNMENT.functions]
    for check in report.checks:
        if check.name not in ("NumPy only", "max_pool2d and avg_pool2d"):
            assert check.message.startswith("Not checked: ") and "\n" not in check.message, check
    assert not any("does not define" in note for note in report.notes)


# The report's heat maps


def _flipped(evidence: Evidence) -> Evidence:
    """Every conv2d case answered with the kernel flipped: true convolution instead of Keras's."""
    cases = [case for case in evidence.secrets["cases"].values() if case.function == "conv2d"]
    return _with(evidence, arrays={case.id: np.asarray(case.flipped, dtype=np.float64) for case in cases})


def test_right_answers_give_no_heat_map(tmp_path):
    assert ASSIGNMENT.differences(honest_evidence("conv_ops", tmp_path)) == ()


def test_a_flipped_kernel_gives_the_worked_examples_that_failed_then_a_larger_case(tmp_path):
    differences = ASSIGNMENT.differences(_flipped(honest_evidence("conv_ops", tmp_path)))
    assert [d.case for d in differences] == [
        "worked example 1: conv2d(x, w)", "worked example 2: conv2d(x, w)",
        "case public_stride_padding_0: conv2d(x, w, stride=3, padding=1), image 0, output channel 2"]
    first = differences[0]
    np.testing.assert_array_equal(first.got, [[17, 160], [14, 87]])  # the README's convolve2d answer
    np.testing.assert_array_equal(first.expected, [[147, 119], [161, 174]])
    # Example 2's kernel is minus itself when flipped: every value has the wrong sign.
    np.testing.assert_array_equal(differences[1].got, -differences[1].expected)
    assert all(d.got.ndim == d.expected.ndim == 2 and d.got.shape == d.expected.shape for d in differences)


def test_the_case_shown_is_the_image_and_channel_that_differ_most(tmp_path):
    evidence = honest_evidence("conv_ops", tmp_path)
    case = evidence.secrets["cases"]["public_groups_1"]
    got = np.asarray(case.expected, dtype=np.float64).copy()
    got[1, 2, 3, 4] += 10
    [difference] = ASSIGNMENT.differences(_with(evidence, arrays={case.id: got}))
    assert difference.case.endswith("image 1, output channel 4")
    assert difference.got[2, 3] - difference.expected[2, 3] == pytest.approx(10)


@pytest.mark.parametrize("answer", [
    np.zeros((1, 3, 3, 1)),  # the wrong shape: the check says so, no heat map
    np.zeros((1, 2, 2, 1), dtype=np.complex128),  # not a float array
    np.array(["a", "b"]),
])
def test_an_answer_the_strict_reader_refuses_gives_no_heat_map(answer, tmp_path):
    evidence = _with(honest_evidence("conv_ops", tmp_path), arrays={"example1_xcorr": answer})
    assert ASSIGNMENT.differences(evidence) == ()


@pytest.mark.parametrize("results", [
    {"example1_xcorr": "x"}, {"example1_xcorr": {"array": "example1_xcorr", "error": 3}}, {"example1_xcorr": {}}])
def test_a_malformed_record_gives_no_heat_map_and_never_raises(results, tmp_path):
    evidence = _with(_flipped(honest_evidence("conv_ops", tmp_path)), results=results)
    assert [d.case for d in ASSIGNMENT.differences(evidence)][0] == "worked example 2: conv2d(x, w)"


def test_hidden_cases_never_give_a_heat_map(tmp_path):
    evidence = honest_evidence("conv_ops", tmp_path)
    hidden = [case for case in evidence.secrets["cases"].values() if case.id.startswith("hidden_")]
    assert hidden
    wrong = _with(evidence, arrays={case.id: np.asarray(case.expected) + 1 for case in hidden
                                    if not np.isscalar(case.expected) and case.expected is not ValueError})
    assert ASSIGNMENT.differences(wrong) == ()


def test_a_failed_phase_gives_no_heat_map(tmp_path):
    evidence = honest_evidence("conv_ops", tmp_path)
    run = evidence.phases["run"]
    failed = Evidence({"run": PhaseOutcome("run", True, {}, run.out_dir, "Your code did not finish")}, evidence.secrets)
    assert ASSIGNMENT.differences(failed) == ()
    assert conv_ops.MAX_DIFFERENCES == 3
