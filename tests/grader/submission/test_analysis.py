"""grader.submission.analysis: the functions, names and imports read from a module's tree."""

import ast

import pytest

from grader.submission import load_submission
from grader.submission.analysis import analyse, missing_function_notes
from tests.grader.submission.helpers import FIXTURES


def analysed(source: str):
    return analyse(ast.parse(source))


IMPORTS = [
    ("import tensorflow as tf", {"tensorflow"}),
    ("from keras import layers", {"keras"}),
    ("import torch.nn", {"torch"}),
    ('__import__("jax")', {"jax"}),
    ('import importlib\nsignal = importlib.import_module("scipy.signal")', {"importlib", "scipy"}),
    ('from importlib import import_module\nimport_module("sklearn.svm")', {"importlib", "sklearn"}),
    ("import os, numpy.linalg as la\ndef f():\n    import cv2", {"os", "numpy", "cv2"}),
    ("from . import helpers\nfrom .models import net", set()),
    ('name = "torch"\n__import__(name)\nimportlib.import_module(".x", "pkg")', set()),
    ('text = "import numpy"  # import pandas', set()),
    # Code under the main guard never runs when the grader imports the file.
    ("import numpy as np\nif __name__ == '__main__':\n    import scipy.signal", {"numpy"}),
]


@pytest.mark.parametrize("source, modules", IMPORTS, ids=[row[0].split("\n")[-1] for row in IMPORTS])
def test_imported_modules(source, modules):
    assert analysed(source).imported_modules == modules


FUNCTIONS = [
    ("def f(): pass\nasync def g(): pass\nclass C: pass\nh = lambda: 1", {"f", "g"}),
    ("def outer():\n    def inner(): pass", {"outer"}),
    ("try:\n    from fast import fast\nexcept ImportError:\n    def fast(): pass", {"fast"}),
    ("if USE_GPU:\n    def train(): pass\nelse:\n    def train_cpu(): pass", {"train", "train_cpu"}),
    ('if __name__ == "__main__":\n    def main(): pass', set()),
]


@pytest.mark.parametrize("source, names", FUNCTIONS, ids=[row[0].split("\n")[0] for row in FUNCTIONS])
def test_defined_functions(source, names):
    assert analysed(source).defined_functions == names


TOP_LEVEL = [
    ("def build_model(): pass", {"build_model"}),
    ("build_model = lambda: None", {"build_model"}),
    ("from reference.lenet5 import build_lenet5 as build_model", {"build_model"}),
    ("import os.path", {"os"}),
    ("class build_model: pass", {"build_model"}),
    ("a, (b, *c) = 1, (2, 3)\nd: int = 4\ne += 1", {"a", "b", "c", "d", "e"}),
    ("with open('x') as f:\n    g = 1", {"g"}),
    ('if __name__ == "__main__":\n    def build_model(): pass', set()),
]


@pytest.mark.parametrize("source, names", TOP_LEVEL, ids=[row[0].split("\n")[0] for row in TOP_LEVEL])
def test_top_level_names(source, names):
    assert analysed(source).top_level_names == names


MISSING_NOTES = [
    # source, what the student reads about a missing build_model (None: it is not missing)
    ("def build_model(): pass", None),
    ("def build_modle(): pass", "Did you mean `build_modle`? The name must match exactly."),
    ('if __name__ == "__main__":\n    def build_model(): pass', "There is a `def build_model` inside another block"),
    ("def outer():\n    def build_model(): pass", "move it to the left margin so that the grader can call it."),
    ("x = 1", "Your code does not define `build_model` at the top level, so the checks that call it score zero."),
]


@pytest.mark.parametrize("source, note", MISSING_NOTES, ids=[row[0].split("\n")[0] for row in MISSING_NOTES])
def test_missing_function_notes(source, note):
    notes = missing_function_notes(analysed(source), ["build_model", "build_model"])
    if note is None:
        assert notes == ()
    else:
        (written,) = notes
        assert written.startswith("Your code does not define `build_model` at the top level")
        assert note in written


def test_missing_function_is_a_note_not_an_error():
    submission = load_submission(FIXTURES / "missing_function.py", expected_functions=["build_model"])
    assert submission.notes == (
        "Your code does not define `build_model` at the top level, so the checks that call it score zero. "
        "Did you mean `build_modle`? The name must match exactly.",
    )
    assert load_submission(FIXTURES / "magics.ipynb", expected_functions=["build_model"]).notes[2:] == ()
