"""grader.submission.record: the Submission as plain data, its locations, and its copy for the sandbox."""

import ast
import dataclasses

import pytest

from grader.submission import Submission, load_submission, missing_functions, write_for_sandbox
from tests.grader.submission.helpers import FIXTURES


def submission_of(source: str = "x = 1\n", top_level_names=frozenset()) -> Submission:
    return Submission(source, "test.py", (), "0" * 64, frozenset(), frozenset(top_level_names), frozenset())


def test_submission_is_plain_frozen_data():
    fields = {field.name: field.type for field in dataclasses.fields(Submission)}
    assert fields == {
        "source": "str", "origin": "str", "notes": "tuple[str, ...]", "content_hash": "str",
        "defined_functions": "frozenset[str]", "top_level_names": "frozenset[str]", "imported_modules": "frozenset[str]",
        "cells": "tuple[tuple[int, int], ...]",
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        submission_of().source = "import os\n"


def test_location_in_a_python_file_is_the_line():
    assert submission_of("import os\n\nx = 1\n").location(3) == "line 3"


def test_location_in_a_notebook_names_the_cell():
    submission = dataclasses.replace(submission_of("# --- cell 2 ---\nx = 1\n# --- cell 4 ---\ny = 2\nz = 3\n"),
                                     cells=((2, 1), (4, 3)))
    assert [submission.location(line) for line in (1, 2, 4, 5)] == ["line 1", "cell 2, line 1", "cell 4, line 1", "cell 4, line 2"]


def test_a_comment_that_looks_like_a_cell_header_is_no_cell():
    assert submission_of("x = 1\n# --- cell 9 ---\ny = 2\n").location(3) == "line 3"


TRACEBACK = ('  File "/submission/submission.py", line 5, in build_model\n    the sandbox says anything\n'
             '  File "/usr/lib/keras/layer.py", line 9, in call\n    raise ValueError("no")')


@pytest.mark.parametrize("cells, frame, code", [
    ((), "  line 5, in build_model", "    return keras.Sequential()"),
    (((3, 1), (7, 3)), "  cell 7, line 2, in build_model", "    return keras.Sequential()"),
])
def test_a_traceback_names_the_students_line_and_shows_their_code(cells, frame, code):
    source = "# --- cell 3 ---\nimport keras\n# --- cell 7 ---\ndef build_model():\n    return keras.Sequential()\n"
    submission = dataclasses.replace(submission_of(source), cells=cells)
    assert submission.student_traceback(TRACEBACK).split("\n") == [
        frame, code, '  File "/usr/lib/keras/layer.py", line 9, in call', '    raise ValueError("no")']


def test_a_skipped_ipython_line_in_a_traceback_is_shown_as_written():
    source = "# --- cell 1 ---\npass  # skipped by the grader: %time f()\n"
    submission = dataclasses.replace(submission_of(source), cells=((1, 1),))
    text = '  File "/tmp/x/submission/submission.py", line 2, in <module>\n    pass'
    assert submission.student_traceback(text) == "  cell 1, line 1, in <module>\n    %time f()"


MISSING = [
    # names bound at the top level, expected, missing
    ({"build_model"}, ["build_model", "train"], ["train"]),
    ({"a", "b"}, ["a", "b", "c", "c"], ["c"]),
    (set(), ["build_model", "build_model"], ["build_model"]),
    ({"x"}, [], []),
]


@pytest.mark.parametrize("names, expected, missing", MISSING)
def test_missing_functions(names, expected, missing):
    assert missing_functions(submission_of(top_level_names=names), expected) == missing


@pytest.mark.parametrize("module_name", ["submission", "solution"])
def test_write_for_sandbox_writes_the_source(tmp_path, module_name):
    submission = load_submission(FIXTURES / "magics.ipynb")
    written = write_for_sandbox(submission, tmp_path / "sandbox", module_name)

    assert written == tmp_path / "sandbox" / f"{module_name}.py"
    assert written.read_bytes() == submission.source.encode("utf-8")
    tree = ast.parse(written.read_text())
    assert [node.name for node in tree.body if isinstance(node, ast.FunctionDef)] == ["build_model"]


def test_write_for_sandbox_refuses_a_name_that_is_not_a_module(tmp_path):
    with pytest.raises(ValueError, match="Received module_name='../evil'"):
        write_for_sandbox(submission_of(), tmp_path, "../evil")
