"""grader.submission.python_file: .py uploads that cannot be read, and how the source is cleaned."""

import hashlib

import pytest

from grader.submission import MAX_SUBMISSION_BYTES, SubmissionError, load_submission
from tests.grader.submission.helpers import FIXTURES, assert_for_student

BAD = [
    # fixture, max_bytes, what the student reads
    ("not_python.py", MAX_SUBMISSION_BYTES,
     r"^not_python\.py is not a UTF-8 text file: a Python file was expected \(did you upload a \.pyc, a \.docx or an image\?\)$"),
    # UTF-16 without a byte order mark, as some Windows editors save: valid UTF-8, full of NUL bytes.
    ("utf16.py", MAX_SUBMISSION_BYTES, r"^utf16\.py is not a UTF-8 text file: a Python file was expected"),
    ("empty.py", MAX_SUBMISSION_BYTES, r"^empty\.py is empty: it holds no Python code"),
    ("comments_only.py", MAX_SUBMISSION_BYTES, r"^comments_only\.py is empty: it holds no Python code"),
    ("syntax_error.py", MAX_SUBMISSION_BYTES,
     r"^Syntax error on line 7: expected ':'\. The line reads `for size in \(32, 64\)`\. "
     r"The grader could not read your file; run `python syntax_error\.py` locally to see the error\.$"),
    ("magics.ipynb", 100, r"^magics\.ipynb is \d\.\d KiB; the limit is 100 bytes\. Submit only your code"),
    ("good.zip", 100, r"^good\.zip is \d+ bytes; the limit is 100 bytes\. "),
]


@pytest.mark.parametrize("fixture, max_bytes, message", BAD, ids=[f"{row[0]}-{row[1]}" for row in BAD])
def test_bad_file_is_refused_with_a_sentence_for_the_student(fixture, max_bytes, message):
    with pytest.raises(SubmissionError, match=message) as caught:
        load_submission(FIXTURES / fixture, max_bytes=max_bytes)
    assert_for_student(str(caught.value))


def test_python_file_source_is_the_file_text():
    path = FIXTURES / "missing_function.py"
    submission = load_submission(path)
    assert submission.source == path.read_text()
    assert submission.notes == ()


def test_byte_order_mark_and_windows_line_ends_are_dropped(tmp_path):
    path = tmp_path / "hw.py"
    path.write_bytes(b"\xef\xbb\xbfdef build_model():\r\n    return 'caf\xc3\xa9'\r\n")
    submission = load_submission(path)
    assert submission.source == "def build_model():\n    return 'café'\n"
    assert submission.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()


SYNTAX_ERRORS = [
    ("x = 1\nreturn x\n", r"^Syntax error on line 2: 'return' outside function\. The line reads `return x`\."),
    ("import os\nfrom __future__ import annotations\n", r"^Syntax error on line 2: from __future__ imports must occur"),
    ("def f():\nreturn 1\n", r"^Syntax error on line 2: expected an indented block after function definition on line 1\."),
    # The quoted line is the student's: an escape sequence in it is shown, not sent to a terminal.
    ('x = "\x1b[2J" +\n', r"^Syntax error on line 1: invalid syntax\. The line reads `x = \"\\x1b\[2J\" \+`\."),
    ("x = " + "-" * 10_000 + "1\n", r"^Your code is nested too deeply for the grader to read"),
    ("x = " + "1 + " * 100_000 + "1\n", r"^Your code is nested too deeply for the grader to read"),
]


@pytest.mark.parametrize("source, message", SYNTAX_ERRORS, ids=[row[0][:20] for row in SYNTAX_ERRORS])
def test_syntax_errors_found_by_the_parser_or_the_compiler(tmp_path, source, message):
    path = tmp_path / "hw.py"
    path.write_text(source)
    with pytest.raises(SubmissionError, match=message) as caught:
        load_submission(path)
    assert_for_student(str(caught.value))


def test_a_long_line_is_cut_short_in_the_message(tmp_path):
    path = tmp_path / "hw.py"
    path.write_text("x = (" + "1, " * 200 + "\n")
    with pytest.raises(SubmissionError, match=r"The line reads `x = \(1, 1, .{80,}\.\.\.`\.") as caught:
        load_submission(path)
    assert len(str(caught.value)) < 400
