"""The digit adder's two output forms graded end to end: a correct solution of each, written apart from
reference/digit_adder.py and kept in tests/fixtures/adder_forms, earns full marks, and its feedback
says which form the grader read."""

import pytest

from grader.assignment import load_assignment
from grader.config import REPO_ROOT, Config
from grader.grading import grade_path
from grader.sandbox import bubblewrap_available

SOLUTIONS = REPO_ROOT / "tests" / "fixtures" / "adder_forms"
SLOT = 50  # clear of the CLI's slot 0, the examples' 30..39 and the sandbox tests' 40..43


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Config:
    assert bubblewrap_available(), "bubblewrap does not work here: run `make setup`"
    return Config(use_keras_download=False, secret_path=tmp_path_factory.mktemp("secret") / "secret")


@pytest.mark.slow
@pytest.mark.parametrize("solution, form", [
    ("probabilities.py", "Read as 19 probabilities per pair"),  # (None, 19), cross-entropy
    ("sum_regression.py", "Read as one number per pair"),       # (None, 1), squared error
])
def test_a_correct_solution_of_either_form_earns_full_marks(solution, form, config):
    report = grade_path(SOLUTIONS / solution, load_assignment("digit_adder"), config, student=solution, slot=SLOT)
    lost = [f"{check.name}: {check.message}" for check in report.checks if check.points < check.max_points]
    # Full marks include the train phase finishing inside its budget (CPU time on its 2 cores).
    assert not lost, "\n".join(lost) + f"\nphases: {report.phase_seconds}\n" + report.instructor_log[-3000:]
    assert report.score == report.max_score == 20
    _, output, accuracy = report.checks
    assert form in output.message and form in accuracy.message
