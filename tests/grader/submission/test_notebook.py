"""grader.submission.notebook: code cells into one module, IPython lines skipped, damaged and hostile notebooks."""

import ast
import json

import pytest

from grader.submission import SubmissionError, load_submission, write_for_sandbox
from tests.grader.submission.helpers import FIXTURES, assert_for_student, write_notebook


def cell_in_source(source: str, number: int) -> str:
    """The lines after `# --- cell N ---`, up to the next header."""
    return source.split(f"# --- cell {number} ---\n")[1].split("# --- cell ")[0]


_AGAIN = r"Open it in Jupyter, save it and upload it again\.$"
BAD = [
    # fixture, what the student reads
    ("syntax_error.ipynb",
     r"^Syntax error in cell 2, line 3: expected ':'\. The line reads `for size in \(32, 64\)`\. .*run that cell in Jupyter"),
    ("not_a_notebook.ipynb", r"^not_a_notebook\.ipynb is not a valid notebook: its JSON is broken at line 2 "),
    ("nbformat3.ipynb", r"^nbformat3\.ipynb is in the old notebook format 3\. Open it in a current Jupyter"),
    ("only_magics.ipynb",
     r"^only_magics\.ipynb is empty: none of its 4 code cells holds Python code outside cells that start with a %% cell magic"),
    # Hostile or damaged: each raised something other than SubmissionError before.
    ("deep_json.ipynb", r"^deep_json\.ipynb is not a valid notebook: its JSON nests lists or objects thousands deep, "
                        r"which Jupyter never writes\. " + _AGAIN),
    ("huge_number.ipynb", r"^huge_number\.ipynb is not a valid notebook: its JSON holds a number thousands of digits long, "
                          r"which Jupyter never writes\. " + _AGAIN),
    ("nul_in_cell.ipynb", r"^Cell 2, line 2 of nul_in_cell\.ipynb holds a NUL character \(\\u0000 in the notebook file\), "
                          r"which Python code cannot contain\. Delete that character in Jupyter"),
    ("escape_in_nbformat.ipynb", r"^escape_in_nbformat\.ipynb is in the old notebook format 3\. "),
]


@pytest.mark.parametrize("fixture, message", BAD, ids=[row[0] for row in BAD])
def test_bad_notebook_is_refused_with_a_sentence_for_the_student(fixture, message):
    with pytest.raises(SubmissionError, match=message) as caught:
        load_submission(FIXTURES / fixture)
    assert_for_student(str(caught.value))


def test_lone_surrogates_are_replaced_and_the_student_told(tmp_path):
    submission = load_submission(FIXTURES / "lone_surrogate.ipynb")

    assert 'LABEL = "\ufffd broken \ufffd"\n' in submission.source
    assert submission.notes == (
        "Replaced characters that are not valid Unicode (lone surrogates such as \\ud800 in the notebook file) "
        "with U+FFFD in cell 2. If your code needs them, retype those characters in Jupyter and save the notebook again.",
    )
    assert submission.defined_functions == {"build_model"}
    written = write_for_sandbox(submission, tmp_path)
    assert written.read_text(encoding="utf-8") == submission.source


MAGICS_SOURCE = '''\
# --- cell 2 ---
pass  # skipped by the grader: %matplotlib inline
pass  # skipped by the grader: !pip install -q keras
import keras
from keras import layers
# --- cell 3 ---
# skipped by the grader: %%time
# skipped by the grader: steps = sum(range(10))
# skipped by the grader: print(steps)
# --- cell 5 ---
pass  # skipped by the grader: layers.Conv2D?

def build_model():
    model = keras.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])
    return model
# --- cell 6 ---
pass  # skipped by the grader: get_ipython().run_line_magic("load_ext", "autoreload")
model = build_model()
model.summary()
'''


def test_notebook_magics_are_skipped_and_listed_in_the_notes():
    submission = load_submission(FIXTURES / "magics.ipynb")

    assert submission.source == MAGICS_SOURCE
    assert submission.notes == (
        "Skipped 4 notebook lines that are IPython magics, shell commands or help lookups (the grader runs plain "
        "Python): cell 2 line 1 `%matplotlib inline`, cell 2 line 2 `!pip install -q keras`, cell 5 line 1 "
        "`layers.Conv2D?`, cell 6 line 1 `get_ipython().run_line_magic(\"load_ext\", \"autoreload\")`.",
        "Skipped cell 3 entirely: it starts with the cell magic `%%time`, so the grader, which runs plain Python, "
        "did not run its 2 other lines. Move code you want graded (a function, an import) into a cell without a %% line.",
    )
    assert submission.defined_functions == {"build_model"}


def test_notebook_lines_keep_their_place_in_the_combined_source():
    notebook = json.loads((FIXTURES / "magics.ipynb").read_text())
    submission = load_submission(FIXTURES / "magics.ipynb")
    combined = submission.source.split("\n")

    checked = 0
    for number, cell in enumerate(notebook["cells"], start=1):
        if cell["cell_type"] != "code":
            continue
        header = combined.index(f"# --- cell {number} ---") + 1  # 1-based line of the header
        for line_number, original in enumerate("".join(cell["source"]).split("\n"), start=1):
            line = header + line_number
            assert combined[line - 1] in (original, f"pass  # skipped by the grader: {original.strip()}",
                                          f"# skipped by the grader: {original}"), (number, line_number)
            assert submission.location(line) == f"cell {number}, line {line_number}"
            checked += 1
    assert checked == 20


@pytest.mark.parametrize("line, where", [(1, "line 1"), (2, "cell 2, line 1"), (14, "cell 5, line 4"), (24, "cell 6, line 3")])
def test_location_names_the_cell(line, where):
    assert load_submission(FIXTURES / "magics.ipynb").location(line) == where


IPYTHON_LINES = [
    # cell source, the cell as the grader runs it
    ("for i in range(2):\n    !echo hi", "for i in range(2):\n    pass  # skipped by the grader: !echo hi"),
    ("files = !ls\nelapsed = %timeit -o f()",
     "pass  # skipped by the grader: files = !ls\npass  # skipped by the grader: elapsed = %timeit -o f()"),
    ("?print\nprint??\nnp.mean?", "pass  # skipped by the grader: ?print\npass  # skipped by the grader: print??\n"
                                  "pass  # skipped by the grader: np.mean?"),
    ("ip = get_ipython()", "pass  # skipped by the grader: ip = get_ipython()"),
    ("  \n%%bash\necho hi", "\n# skipped by the grader: %%bash\n# skipped by the grader: echo hi"),
    # Python that only looks like IPython stays as it is.
    ("same = (1\n        != 2)", "same = (1\n        != 2)"),
    ("rest = (10\n    % 3)", "rest = (10\n    % 3)"),
    ("rest = 10 \\\n% 3", "rest = 10 \\\n% 3"),
    ('def f():\n    """\n    Why?\n    %d items\n    !important\n    """',
     'def f():\n    """\n    Why?\n    %d items\n    !important\n    """'),
    ("x = [1\n    # comment\n    % 2]", "x = [1\n    # comment\n    % 2]"),
    ('x = 1\n"""\nWhy?\n%d items\n"""', 'x = 1\n"""\nWhy?\n%d items\n"""'),
    ("x = 1  # really?", "x = 1  # really?"),
    ("if get_ipython() is None:\n    x = 1", "if get_ipython() is None:\n    x = 1"),
]


@pytest.mark.parametrize("cell, expected", IPYTHON_LINES, ids=[row[0].split("\n")[0] for row in IPYTHON_LINES])
def test_ipython_lines_are_skipped_and_python_lines_are_not(tmp_path, cell, expected):
    path = write_notebook(tmp_path / "hw.ipynb", ["import numpy as np", cell])
    submission = load_submission(path)
    assert cell_in_source(submission.source, 2) == expected + "\n"
    skipped = expected.count("skipped by the grader") > 0
    assert any("Skipped" in note for note in submission.notes) == skipped


def test_a_long_list_of_skipped_lines_is_cut_short(tmp_path):
    magics = "\n".join(f"%magic{n}" for n in range(1, 8))
    path = write_notebook(tmp_path / "hw.ipynb", [("markdown", "# HW"), magics + "\nx = 1"])
    (note,) = load_submission(path).notes
    assert note.startswith("Skipped 7 notebook lines")
    assert "cell 2 line 5 `%magic5`, and 2 more." in note
    assert "%magic6" not in note


def test_a_skipped_line_with_an_escape_sequence_is_quoted_safely(tmp_path):
    path = write_notebook(tmp_path / "hw.ipynb", ["!echo \x1b[2J\x1b]0;pwned\x07\nx = 1"])
    (note,) = load_submission(path).notes
    assert "cell 1 line 1 `!echo \\x1b[2J\\x1b]0;pwned\\x07`." in note
    assert_for_student(note)


def test_syntax_error_in_a_cell_is_reported_against_that_cell(tmp_path):
    path = write_notebook(tmp_path / "hw.ipynb", ["x = 1", ("markdown", "## Model"), "\n\ndef f():\nreturn 1"])
    with pytest.raises(SubmissionError, match=r"^Syntax error in cell 3, line 4: expected an indented block "
                                              r"after function definition on line 3 of the cell\. The line reads `return 1`\."):
        load_submission(path)


def test_syntax_error_only_between_cells_names_the_cell(tmp_path):
    # Jupyter accepts a __future__ import at the top of any cell; one Python file does not.
    path = write_notebook(tmp_path / "hw.ipynb", ["x = 1", "from __future__ import annotations"])
    with pytest.raises(SubmissionError, match=r"^Syntax error in cell 2, line 1: from __future__ imports must occur "
                                              r".*runs all the cells of hw\.ipynb as one Python file"):
        load_submission(path)


def test_notebook_source_may_be_one_string(tmp_path):
    path = tmp_path / "hw.ipynb"
    cell = {"cell_type": "code", "source": "%pylab\ndef f():\n    return 1"}
    path.write_text(json.dumps({"cells": [cell], "nbformat": 4}))
    submission = load_submission(path)
    assert submission.source == "# --- cell 1 ---\npass  # skipped by the grader: %pylab\ndef f():\n    return 1\n"
    assert submission.origin == "notebook hw.ipynb (1 code cell)"
    ast.parse(submission.source)
