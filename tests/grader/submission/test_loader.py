"""grader.submission.loader: every kind of upload read into a Submission, and nothing but SubmissionError out."""

import ast
import hashlib
import logging
import re

import pytest

from grader.submission import SubmissionError, load_submission
from grader.submission import loader
from grader.submission.record import OverLimits
from tests.grader.submission.helpers import FIXTURES, ZIPPED_SOLUTION, assert_for_student

BAD = [
    # fixture, what the student reads
    ("does_not_exist.py", r"^No file or folder named does_not_exist\.py was found"),
    ("wrong_format.docx", r"^wrong_format\.docx is not a Python file, notebook or zip \(got \.docx\)\. "),
]


@pytest.mark.parametrize("fixture, message", BAD, ids=[row[0] for row in BAD])
def test_what_is_not_code_is_refused_with_a_sentence_for_the_student(fixture, message):
    with pytest.raises(SubmissionError, match=message) as caught:
        load_submission(FIXTURES / fixture)
    assert_for_student(str(caught.value))


def test_fixtures_stay_small():
    sizes = {path.name: path.stat().st_size for path in FIXTURES.rglob("*") if path.is_file()}
    assert len(sizes) >= 20
    assert max(sizes.values()) < 100_000, sizes


GOOD = [
    # fixture, origin, source starts with, functions defined
    ("missing_function.py", "missing_function.py", '"""Homework 3: the MNIST ConvNet, with the function name misspelt."""\n',
     {"build_modle"}),
    ("magics.ipynb", "notebook magics.ipynb (4 code cells)",
     "# --- cell 2 ---\npass  # skipped by the grader: %matplotlib inline\n", {"build_model"}),
    ("good.zip", "zip good.zip -> hw3/solution.py", ZIPPED_SOLUTION, {"build_model"}),
    ("nested_folder", "folder nested_folder -> hw/solution.py", '"""Homework 3, zipped as `zip -r hw.zip hw`', {"build_model"}),
]


@pytest.mark.parametrize("fixture, origin, start, functions", GOOD, ids=[row[0] for row in GOOD])
def test_good_submission_is_read_into_one_module(fixture, origin, start, functions):
    submission = load_submission(FIXTURES / fixture)

    assert submission.origin == origin
    assert submission.source.startswith(start), submission.source[:200]
    assert submission.source.endswith("\n")
    ast.parse(submission.source)
    assert re.fullmatch(r"[0-9a-f]{64}", submission.content_hash)
    assert submission.defined_functions == functions


@pytest.mark.parametrize("fixture", ["missing_function.py", "magics.ipynb", "good.zip"])
def test_content_hash_of_a_file_is_the_sha256_of_its_bytes(fixture):
    path = FIXTURES / fixture
    assert load_submission(path).content_hash == hashlib.sha256(path.read_bytes()).hexdigest()


def test_file_hashes_differ_when_contents_differ(tmp_path):
    first, second = tmp_path / "a" / "hw.py", tmp_path / "b" / "hw.py"
    for path, body in ((first, "x = 1\n"), (second, "x = 2\n")):
        path.parent.mkdir()
        path.write_text(body)
    assert load_submission(first).content_hash == load_submission(first).content_hash
    assert load_submission(first).content_hash != load_submission(second).content_hash


def test_analysis_is_part_of_the_submission(tmp_path):
    path = tmp_path / "hw.py"
    path.write_text("import numpy as np\n\ndef f():\n    return np.zeros(1)\n\n"
                    "if __name__ == '__main__':\n    import scipy.signal\n    print(scipy.signal)\n")
    submission = load_submission(path)
    assert submission.imported_modules == {"numpy"}
    assert submission.defined_functions == {"f"}
    assert submission.top_level_names == {"np", "f"}


def test_a_function_defined_inside_a_block_gets_a_hint(tmp_path):
    path = tmp_path / "hw.py"
    path.write_text('if __name__ == "__main__":\n    def build_model():\n        return None\n')
    (note,) = load_submission(path, expected_functions=["build_model"]).notes
    assert "There is a `def build_model` inside another block" in note


def test_anything_unexpected_becomes_a_sentence_and_a_log_entry(monkeypatch, caplog):
    def broken(data, name):
        raise KeyError("a corner of the reader nobody thought of")

    monkeypatch.setattr(loader, "read_python", broken)
    with caplog.at_level(logging.ERROR, logger=loader.__name__):
        with pytest.raises(SubmissionError, match=r"^The grader could not read missing_function\.py: it is damaged or "
                                                  r"in a form the grader does not expect\. ") as caught:
            load_submission(FIXTURES / "missing_function.py")
    assert_for_student(str(caught.value))
    assert "KeyError: 'a corner of the reader nobody thought of'" in caplog.text


def test_running_out_of_memory_is_over_the_limits(monkeypatch):
    def hungry(data, name):
        raise MemoryError

    monkeypatch.setattr(loader, "read_python", hungry)
    with pytest.raises(OverLimits, match=r"^missing_function\.py is too large or too complex for the grader to read"):
        load_submission(FIXTURES / "missing_function.py")
