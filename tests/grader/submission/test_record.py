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
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        submission_of().source = "import os\n"


def test_location_in_a_python_file_is_the_line():
    assert submission_of("import os\n\nx = 1\n").location(3) == "line 3"


def test_location_in_a_notebook_names_the_cell():
    submission = submission_of("# --- cell 2 ---\nx = 1\n# --- cell 4 ---\ny = 2\nz = 3\n")
    assert [submission.location(line) for line in (1, 2, 4, 5)] == ["line 1", "cell 2, line 1", "cell 4, line 1", "cell 4, line 2"]


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
