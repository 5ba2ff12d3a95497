"""The sandbox driver's own start-up: what each backend's framework is refused."""

import subprocess
import sys
from pathlib import Path

import pytest

DRIVER_DIR = Path(__file__).resolve().parents[3] / "grader" / "probe"


def run_in_driver(code: str, backend: str) -> subprocess.CompletedProcess:
    """Runs `code` after the driver's framework hiding for `backend`, in a fresh interpreter."""
    prelude = (f"import os, sys; os.environ['KERAS_BACKEND'] = {backend!r}; sys.path.insert(0, {str(DRIVER_DIR)!r}); "
               "import driver; driver.hide_frameworks(os.environ['KERAS_BACKEND']); ")
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=120)


def test_on_tensorflow_the_students_own_import_of_jax_works():
    pytest.importorskip("jax")
    result = run_in_driver("import jax.numpy as jnp; print(int(jnp.arange(3).sum()))", "tensorflow")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "3"


def test_tensorflow_is_refused_jax_as_if_it_were_not_installed():
    finder_code = ("f = driver.HiddenFrameworks('tensorflow', ('jax',)); g = {'__name__': 'tensorflow.lite.python.util'}; "
                   "exec('try:\\n    f.find_spec(\\'jax\\')\\nexcept ModuleNotFoundError as e:\\n    print(e)', g, {'f': f})")
    result = run_in_driver(finder_code, "tensorflow")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "No module named 'jax' for tensorflow in the grader's sandbox"


def test_on_tensorflow_keras_imports_without_jax():
    pytest.importorskip("jax")  # the point is TensorFlow's optional import of an installed jax
    result = run_in_driver("import keras, sys; print(sorted(m for m in sys.modules if m.split('.')[0] in "
                           "('jax', 'jaxlib')))", "tensorflow")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_on_jax_nothing_is_hidden():
    pytest.importorskip("jax")
    result = run_in_driver("import jax; print(jax.__name__)", "jax")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "jax"
