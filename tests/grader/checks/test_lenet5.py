"""LeNet-5's informational shift-invariance check: the student's 2-pixel-shift accuracy beside the reference's."""

import numpy as np
import pytest

from assignments.lenet5 import checks as lenet5
from grader.assignment import PhaseOutcome
from grader.pictures.reference import ReferenceCurves
from tests.grader.checks.honest import honest_evidence, score

CHECK = next(check for check in lenet5.ASSIGNMENT.checks if check.name == "shift invariance (informational)")


def with_shift_2_right(evidence, right: int):
    """The predict phase's robustness predictions, with `right` of the digits at a 2-pixel shift right."""
    plan = evidence.secrets["robustness"]
    predicted = np.tile(plan.labels, (len(plan.blocks), 1))
    predicted[plan.blocks.index(("shift", 2)), right:] = (plan.labels[right:] + 1) % 10
    np.save(evidence.phases["predict"].out_dir / "robustness_predictions.npy",
            np.eye(10, dtype="float32")[predicted.reshape(-1)])
    return evidence


def test_it_is_worth_no_points_and_uses_hidden_digits():
    assert (CHECK.points, CHECK.hidden, CHECK.needs) == (0, True, ("train", "predict"))


@pytest.mark.parametrize("right, status, says", [
    (20, "passed", "Within 5 points of it"),
    (19, "passed", "about 95.0% right (100.0% unshifted); the reference LeNet-5 gets 100.0%"),
    (18, "failed", "more than 5 points below it. Likely cause: S2 and S4"),
])
def test_within_five_points_of_the_reference_passes(tmp_path, right, status, says):
    got = score(CHECK, with_shift_2_right(honest_evidence("lenet5", tmp_path), right))
    assert got.status == status and says in got.message and "Informational" in got.message


@pytest.mark.parametrize("change, says", [
    (lambda e: e.secrets.update(reference_robustness=ReferenceCurves(missing="the reference failed")),
     "Not compared: the reference failed."),
    (lambda e: e.phases["predict"].observations.update(report_problems={"robustness": "MemoryError: "}),
     "Not compared: your model raised an error on the shifted, rotated and noisy digits"),
    (lambda e: e.phases["predict"].observations.update(errors={
        "predict": {"type": "ValueError", "message": "no", "traceback": ""}}), "Not checked: "),
    (lambda e: e.phases.update(predict=PhaseOutcome("predict", True, {}, None, failure="It timed out.")),
     "It timed out."),
])
def test_without_both_curves_it_says_why_it_did_not_compare(tmp_path, change, says):
    evidence = honest_evidence("lenet5", tmp_path)
    change(evidence)
    got = score(CHECK, evidence)
    assert got.status == "error" and got.message.startswith(says), got.message
