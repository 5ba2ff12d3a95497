"""The hidden-accuracy check (grader/checks/accuracy.py) when the predict phase's count is malformed."""

import math

import pytest

from grader.assignment import Check
from grader.checks.accuracy import hidden_accuracy
from tests.grader.checks.honest import HIDDEN, honest_evidence, replaced, score

CHECK = Check("accuracy", 10, hidden_accuracy(sample=(0.5, 0.9), full=(0.5, 0.9), classes=10, what="hidden digits",
                                              cause="train longer."), needs=("train", "predict"), hidden=True)


@pytest.fixture
def evidence(tmp_path):
    return honest_evidence("mnist_convnet", tmp_path)


def test_right_predictions_score_full_points(evidence):
    outcome = score(CHECK, evidence)
    assert outcome.status == "passed"
    assert f"Accuracy on {HIDDEN} hidden digits: 100.00%." in outcome.message


@pytest.mark.parametrize("predicted, fragment", [
    (str(HIDDEN), f"got a string ('{HIDDEN}'), expected an integer"),
    (float(HIDDEN), f"got the number {HIDDEN}, expected an integer"),
    (True, "got true, expected an integer"),
    (None, "got null, expected an integer"),
    ([HIDDEN], "got a list of 1 item, expected an integer"),
    ({"count": HIDDEN}, "got an object, expected an integer"),
    (math.nan, "got NaN, expected an integer"),
    (HIDDEN - 1, f"it says {HIDDEN - 1:,} predictions, but predictions.npy holds {HIDDEN:,}"),
    (10**400, "predictions, but predictions.npy holds"),
])
def test_a_malformed_count_scores_zero_with_a_reason(evidence, predicted, fragment):
    outcome = score(CHECK, replaced(evidence, "predict", ("predicted",), predicted))
    assert (outcome.status, outcome.fraction) == ("error", 0.0)
    assert outcome.message.startswith('The grader cannot use "predicted" from your code\'s observations: ')
    assert fragment in outcome.message


@pytest.mark.parametrize("path, value, fragment", [
    (("errors",), {"predict": ["boom"]}, "\"errors\" of step 'predict' is a list of 1 item"),
    (("seconds",), "fast", '"seconds" is a string (\'fast\')'),
    (("wall_seconds",), None, '"wall_seconds" is null; expected a finite number'),
])
def test_malformed_common_keys_of_the_predict_phase_score_zero(evidence, path, value, fragment):
    outcome = score(CHECK, replaced(evidence, "predict", path, value))
    assert (outcome.status, outcome.fraction) == ("error", 0.0)
    assert fragment in outcome.message
