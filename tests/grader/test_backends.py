"""Every reference gets full marks graded under each Keras backend the grader supports, not only TensorFlow."""

import importlib.util

import pytest

from grader.assignment import assignment_names, load_assignment
from grader.config import REPO_ROOT, Config
from grader.grading import grade_path
from grader.sandbox import bubblewrap_available

# TensorFlow is graded by tests/grader/test_grading.py; these are the other backends.
BACKENDS = {"jax": "jax", "torch": "torch"}
"""Keras backend -> the module it needs installed."""

pytestmark = [pytest.mark.slow, pytest.mark.backends]


@pytest.fixture(scope="module")
def secret(tmp_path_factory):
    assert bubblewrap_available(), "bubblewrap does not work here: run `make setup`"
    return tmp_path_factory.mktemp("secret") / "secret"


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("name", assignment_names())
def test_reference_scores_full_marks_under(backend, name, secret):
    if importlib.util.find_spec(BACKENDS[backend]) is None:
        pytest.skip(f"{BACKENDS[backend]} is not installed (pip install -r requirements.txt)")
    config = Config(use_keras_download=False, secret_path=secret, keras_backend=backend)
    report = grade_path(REPO_ROOT / "reference" / f"{name}.py", load_assignment(name), config, student="reference")
    lost = [f"{check.name}: {check.points}/{check.max_points}: {check.message}"
            for check in report.checks if check.points < check.max_points]
    assert not lost, f"under KERAS_BACKEND={backend}:\n" + "\n".join(lost) + "\n" + report.instructor_log[-3000:]
    assert report.score == report.max_score > 0
