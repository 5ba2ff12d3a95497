"""grader.submission: bad uploads kept in tests/fixtures/submissions, notebooks, folders, zips, and reading the code."""

import ast
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from grader.submission import (
    MAX_SUBMISSION_BYTES,
    Submission,
    SubmissionError,
    load_submission,
    missing_functions,
    write_for_sandbox,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "submissions"
ZIPPED_SOLUTION = '"""Homework 3, zipped on a Mac."""\n\n\ndef build_model():\n    return None\n'


def code(source: str) -> Submission:
    return Submission(source, "test.py", (), "")


def write_notebook(path: Path, cells: list[str | tuple[str, str]]) -> Path:
    """A notebook whose cells are code, or (cell type, source) for the others; sources as Jupyter stores them."""
    cells = [cell if isinstance(cell, tuple) else ("code", cell) for cell in cells]
    notebook = {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True)}
            | ({"execution_count": None, "outputs": []} if kind == "code" else {})
            for kind, text in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))
    return path


def cell_in_source(source: str, number: int) -> str:
    """The lines after `# --- cell N ---`, up to the next header."""
    return source.split(f"# --- cell {number} ---\n")[1].split("# --- cell ")[0]


# --- bad submissions --------------------------------------------------------------------------

BAD = [
    # fixture, max_bytes, what the student reads
    ("does_not_exist.py", MAX_SUBMISSION_BYTES, r"^No file or folder named does_not_exist\.py was found"),
    ("not_python.py", MAX_SUBMISSION_BYTES,
     r"^not_python\.py is not a UTF-8 text file: a Python file was expected \(did you upload a \.pyc, a \.docx or an image\?\)$"),
    # UTF-16 without a byte order mark, as some Windows editors save: valid UTF-8, full of NUL bytes.
    ("utf16.py", MAX_SUBMISSION_BYTES, r"^utf16\.py is not a UTF-8 text file: a Python file was expected"),
    ("empty.py", MAX_SUBMISSION_BYTES, r"^empty\.py is empty: it holds no Python code"),
    ("comments_only.py", MAX_SUBMISSION_BYTES, r"^comments_only\.py is empty: it holds no Python code"),
    ("syntax_error.py", MAX_SUBMISSION_BYTES,
     r"^Syntax error on line 7: expected ':'\. The line reads `for size in \(32, 64\)`\. "
     r"The grader could not read your file; run `python syntax_error\.py` locally to see the error\.$"),
    ("syntax_error.ipynb", MAX_SUBMISSION_BYTES,
     r"^Syntax error in cell 2, line 3: expected ':'\. The line reads `for size in \(32, 64\)`\. .*run that cell in Jupyter"),
    ("not_a_notebook.ipynb", MAX_SUBMISSION_BYTES, r"^not_a_notebook\.ipynb is not a valid notebook: its JSON is broken at line 2 "),
    ("nbformat3.ipynb", MAX_SUBMISSION_BYTES, r"^nbformat3\.ipynb is in the old notebook format 3\. Open it in a current Jupyter"),
    ("only_magics.ipynb", MAX_SUBMISSION_BYTES,
     r"^only_magics\.ipynb is empty: none of its 4 code cells holds Python code outside cells that start with a %% cell magic"),
    ("wrong_format.docx", MAX_SUBMISSION_BYTES, r"^wrong_format\.docx is not a Python file, notebook or zip \(got \.docx\)\. "),
    ("two_files", MAX_SUBMISSION_BYTES,
     r"^two_files has 2 code files \(a\.py, b\.py\) and the grader cannot tell which one to grade\. .*solution\.py\.$"),
    ("zip_slip.zip", MAX_SUBMISSION_BYTES, r"^zip_slip\.zip contains a path outside itself: \.\./\.\./evil\.py\. "),
    ("zip_absolute.zip", MAX_SUBMISSION_BYTES, r"^zip_absolute\.zip contains a path outside itself: /etc/evil\.py\. "),
    ("zip_symlink.zip", MAX_SUBMISSION_BYTES, r"^zip_symlink\.zip contains a symbolic link \(solution\.py\)"),
    ("zip_bomb.zip", MAX_SUBMISSION_BYTES, r"^zip_bomb\.zip unpacks to 20\.0 MB; the limit is 5\.0 MB\. "),
    ("too_many_entries.zip", MAX_SUBMISSION_BYTES, r"^too_many_entries\.zip has 1,001 entries; the limit is 1000\. "),
    ("zip_no_code.zip", MAX_SUBMISSION_BYTES,
     r"^zip_no_code\.zip has no \.py or \.ipynb file at its top level "
     r"\(found: README\.md, hw3\.zip; zips inside a zip or folder are not opened\)"),
    ("magics.ipynb", 100, r"^magics\.ipynb is \d\.\d KB; the limit is 100 bytes\. Submit only your code"),
    ("good.zip", 100, r"^good\.zip is \d+ bytes; the limit is 100 bytes\. "),
    ("nested_folder", 100, r"^nested_folder holds more than 100 bytes, the limit\. "),
]


@pytest.mark.parametrize("fixture, max_bytes, message", BAD, ids=[f"{row[0]}-{row[1]}" for row in BAD])
def test_bad_submission_is_refused_with_a_sentence_for_the_student(fixture, max_bytes, message):
    with pytest.raises(SubmissionError) as caught:
        load_submission(FIXTURES / fixture, max_bytes=max_bytes)

    text = str(caught.value)
    assert re.search(message, text), text
    assert "\n" not in text and "Traceback" not in text, text
    assert not re.search(r"[A-Z]\w*Error\b", text), f"an exception name leaked into the message: {text}"


def test_fixtures_stay_small():
    sizes = {path.name: path.stat().st_size for path in FIXTURES.rglob("*") if path.is_file()}
    assert len(sizes) >= 20
    assert max(sizes.values()) < 100_000, sizes


# --- good submissions -------------------------------------------------------------------------

GOOD = [
    # fixture, origin, source starts with
    ("missing_function.py", "missing_function.py", '"""Homework 3: the MNIST ConvNet, with the function name misspelt."""\n'),
    ("magics.ipynb", "notebook magics.ipynb (4 code cells)",
     "# --- cell 2 ---\npass  # skipped by the grader: %matplotlib inline\n"),
    ("good.zip", "zip good.zip -> hw3/solution.py", ZIPPED_SOLUTION),
    ("nested_folder", "folder nested_folder -> hw/solution.py", '"""Homework 3, zipped as `zip -r hw.zip hw`'),
]


@pytest.mark.parametrize("fixture, origin, start", GOOD, ids=[row[0] for row in GOOD])
def test_good_submission_is_read_into_one_module(fixture, origin, start):
    submission = load_submission(FIXTURES / fixture)

    assert submission.origin == origin
    assert submission.source.startswith(start), submission.source[:200]
    assert submission.source.endswith("\n")
    ast.parse(submission.source)
    assert re.fullmatch(r"[0-9a-f]{64}", submission.content_hash)


@pytest.mark.parametrize("fixture", ["missing_function.py", "magics.ipynb", "good.zip"])
def test_content_hash_of_a_file_is_the_sha256_of_its_bytes(fixture):
    path = FIXTURES / fixture
    assert load_submission(path).content_hash == hashlib.sha256(path.read_bytes()).hexdigest()


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


@pytest.mark.parametrize("source, message", [
    ("x = 1\nreturn x\n", r"^Syntax error on line 2: 'return' outside function\. The line reads `return x`\."),
    ("import os\nfrom __future__ import annotations\n", r"^Syntax error on line 2: from __future__ imports must occur"),
    ("def f():\nreturn 1\n", r"^Syntax error on line 2: expected an indented block after function definition on line 1\."),
])
def test_syntax_errors_found_by_the_parser_or_the_compiler(tmp_path, source, message):
    path = tmp_path / "hw.py"
    path.write_text(source)
    with pytest.raises(SubmissionError, match=message):
        load_submission(path)


# --- notebooks --------------------------------------------------------------------------------

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
    assert submission.defined_functions() == {"build_model"}


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


def test_location_in_a_python_file_is_the_line():
    assert code("import os\n\nx = 1\n").location(3) == "line 3"


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


# --- folders and zips -------------------------------------------------------------------------

NOTEBOOK = json.dumps({"cells": [{"cell_type": "code", "source": ["def build_model():\n", "    return 1"]}], "nbformat": 4})

FOLDERS = [
    # files in the folder, what is graded (or the error), a note about the rest
    (["a.py", "solution.py"], "solution.py", "Graded solution.py and left out the other code next to it (a.py)"),
    (["solution.py", "submission.py", "x.py"], "submission.py", "(solution.py, x.py)"),
    (["a.py", "hw.ipynb"], "a.py", "(hw.ipynb)"),
    (["hw.ipynb", "README.md"], "notebook hw.ipynb (1 code cell)", None),
    (["a.py", "b.py", "hw.ipynb"], "notebook hw.ipynb (1 code cell)", "(a.py, b.py)"),
    # The name the student chose for the grader outranks a lone notebook.
    (["helper.py", "scratch.ipynb", "solution.py"], "solution.py", "(helper.py, scratch.ipynb)"),
    (["hw3/solution.py", "README.md"], "hw3/solution.py", None),
    ([".ipynb_checkpoints/hw-checkpoint.ipynb", "__pycache__/hw.py", ".hw.py.swp", "hw.ipynb"],
     "notebook hw.ipynb (1 code cell)", None),
    (["a.ipynb", "b.ipynb"], SubmissionError(r"has 2 code files \(a\.ipynb, b\.ipynb\) and the grader cannot tell"), None),
    (["README.md"], SubmissionError(r"has no \.py or \.ipynb file at its top level \(found: README\.md\)\."), None),
    # Two folders: neither is unwrapped.
    (["hw3/solution.py", "data/train.csv"], SubmissionError(r"has no .* \(found: data/train\.csv, hw3/solution\.py\)\."), None),
    ([], SubmissionError(r"has no .* \(it is empty\)\."), None),
]


@pytest.mark.parametrize("files, graded, note", FOLDERS, ids=[",".join(row[0]) or "empty" for row in FOLDERS])
def test_folder_picks_one_code_file(tmp_path, files, graded, note):
    folder = tmp_path / "hw"
    folder.mkdir()
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(NOTEBOOK if name.endswith(".ipynb") else f"def build_model():\n    return {name!r}\n")

    if isinstance(graded, SubmissionError):
        with pytest.raises(SubmissionError, match=f"^hw {graded}"):
            load_submission(folder)
        return
    submission = load_submission(folder)
    assert submission.origin == f"folder hw -> {graded}"
    assert submission.defined_functions() == {"build_model"}
    if note is None:
        assert submission.notes == ()
    else:
        (written,) = submission.notes
        assert note in written, written


def test_nested_folder_is_read_like_a_zip_with_one_folder():
    folder = load_submission(FIXTURES / "nested_folder")
    assert folder.source == (FIXTURES / "nested_folder" / "hw" / "solution.py").read_text()
    assert folder.notes == (), "the hidden .scratch.py is not a second candidate"
    assert load_submission(FIXTURES / "good.zip").source == ZIPPED_SOLUTION


def test_folder_hash_depends_on_paths_and_bytes_only(tmp_path):
    original = load_submission(FIXTURES / "nested_folder").content_hash
    copy = tmp_path / "elsewhere"
    shutil.copytree(FIXTURES / "nested_folder", copy)
    assert load_submission(copy).content_hash == original, "the same files in another place"

    (copy / "hw" / ".scratch.py").write_text("# hidden files are never read\n")
    assert load_submission(copy).content_hash == original

    (copy / "hw" / "notes.md").write_text("Changed.\n")
    changed_bytes = load_submission(copy).content_hash
    assert changed_bytes != original

    (copy / "hw" / "notes.md").rename(copy / "hw" / "notes.txt")
    renamed = load_submission(copy).content_hash
    assert renamed not in (original, changed_bytes)


def test_file_hashes_differ_when_contents_differ(tmp_path):
    first, second = tmp_path / "a" / "hw.py", tmp_path / "b" / "hw.py"
    for path, body in ((first, "x = 1\n"), (second, "x = 2\n")):
        path.parent.mkdir()
        path.write_text(body)
    assert load_submission(first).content_hash == load_submission(first).content_hash
    assert load_submission(first).content_hash != load_submission(second).content_hash


def test_folder_with_too_many_files_is_refused(tmp_path):
    folder = tmp_path / "hw"
    (folder / "data").mkdir(parents=True)
    (folder / "solution.py").write_text("x = 1\n")
    for number in range(1000):
        (folder / "data" / f"{number}.png").touch()
    with pytest.raises(SubmissionError, match=r"^hw holds more than 1000 files and folders\. "):
        load_submission(folder)


def test_folder_with_a_symlink_is_refused(tmp_path):
    folder = tmp_path / "hw"
    folder.mkdir()
    (folder / "solution.py").symlink_to("/etc/passwd")
    with pytest.raises(SubmissionError, match=r"^hw contains a symbolic link \(solution\.py\)"):
        load_submission(folder)


# --- what the grader reads from the code ------------------------------------------------------

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
]


@pytest.mark.parametrize("source, modules", IMPORTS, ids=[row[0].split("\n")[-1] for row in IMPORTS])
def test_imported_modules(source, modules):
    assert code(source).imported_modules() == modules


FUNCTIONS = [
    ("def f(): pass\nasync def g(): pass\nclass C: pass\nh = lambda: 1", {"f", "g"}),
    ("def outer():\n    def inner(): pass", {"outer"}),
    ("try:\n    from fast import fast\nexcept ImportError:\n    def fast(): pass", {"fast"}),
    ("if USE_GPU:\n    def train(): pass\nelse:\n    def train_cpu(): pass", {"train", "train_cpu"}),
    ('if __name__ == "__main__":\n    def main(): pass', set()),
]


@pytest.mark.parametrize("source, names", FUNCTIONS, ids=[row[0].split("\n")[0] for row in FUNCTIONS])
def test_defined_functions(source, names):
    assert code(source).defined_functions() == names


MISSING = [
    ("def build_model(): pass", ["build_model", "train"], ["train"]),
    ("build_model = lambda: None", ["build_model"], []),
    ("from reference.lenet5 import build_lenet5 as build_model", ["build_model"], []),
    ("class build_model: pass", ["build_model"], []),
    ("a, (b, *c) = 1, (2, 3)\nd: int = 4", ["a", "b", "c", "d", "e"], ["e"]),
    ("def build_modle(): pass", ["build_model", "build_model"], ["build_model"]),
    ('if __name__ == "__main__":\n    def build_model(): pass', ["build_model"], ["build_model"]),
]


@pytest.mark.parametrize("source, expected, missing", MISSING, ids=[row[0].split("\n")[0] for row in MISSING])
def test_missing_functions(source, expected, missing):
    assert missing_functions(code(source), expected) == missing


def test_missing_function_is_a_note_not_an_error():
    submission = load_submission(FIXTURES / "missing_function.py", expected_functions=["build_model"])
    assert submission.notes == (
        "Your code does not define `build_model` at the top level, so the checks that call it score zero. "
        "Did you mean `build_modle`? The name must match exactly.",
    )
    assert load_submission(FIXTURES / "magics.ipynb", expected_functions=["build_model"]).notes[2:] == ()


def test_a_function_defined_inside_a_block_gets_a_hint(tmp_path):
    path = tmp_path / "hw.py"
    path.write_text('if __name__ == "__main__":\n    def build_model():\n        return None\n')
    (note,) = load_submission(path, expected_functions=["build_model"]).notes
    assert "There is a `def build_model` inside another block" in note


# --- the sandbox copy -------------------------------------------------------------------------


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
        write_for_sandbox(code("x = 1\n"), tmp_path, "../evil")


def test_imports_under_the_main_guard_do_not_count(tmp_path):
    path = tmp_path / "guarded.py"
    path.write_text("import numpy as np\n\ndef f():\n    return np.zeros(1)\n\n"
                    "if __name__ == '__main__':\n    import scipy.signal\n    print(scipy.signal)\n")
    assert load_submission(path).imported_modules() == {"numpy"}
