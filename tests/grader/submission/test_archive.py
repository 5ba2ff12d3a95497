"""grader.submission.archive: which code file a folder or zip gives, and the zips that cannot be read."""

import json
import os
import shutil

import pytest

from grader.submission import MAX_SUBMISSION_BYTES, SubmissionError, load_submission
from tests.grader.submission.helpers import FIXTURES, ZIPPED_SOLUTION, assert_for_student

_ZIP_AGAIN = r"Make the zip again with your system's zip tool\.$"
BAD = [
    # fixture, max_bytes, what the student reads
    ("two_files", MAX_SUBMISSION_BYTES,
     r"^two_files has 2 code files \(a\.py, b\.py\) and the grader cannot tell which one to grade\. .*solution\.py\.$"),
    ("nested_folder", 100, r"^nested_folder holds more than 100 bytes, the limit\. "),
    ("zip_slip.zip", MAX_SUBMISSION_BYTES, r"^zip_slip\.zip contains a path outside itself: \.\./\.\./evil\.py\. "),
    ("zip_absolute.zip", MAX_SUBMISSION_BYTES, r"^zip_absolute\.zip contains a path outside itself: /etc/evil\.py\. "),
    ("zip_symlink.zip", MAX_SUBMISSION_BYTES, r"^zip_symlink\.zip contains a symbolic link \(solution\.py\)"),
    ("zip_bomb.zip", MAX_SUBMISSION_BYTES, r"^zip_bomb\.zip unpacks to 20 MiB; the limit is 5 MiB\. "),
    ("too_many_entries.zip", MAX_SUBMISSION_BYTES, r"^too_many_entries\.zip has 1,001 entries; the limit is 1000\. "),
    ("zip_no_code.zip", MAX_SUBMISSION_BYTES,
     r"^zip_no_code\.zip has no \.py or \.ipynb file at its top level "
     r"\(found: README\.md, hw3\.zip; zips inside a zip or folder are not opened\)"),
    # Damaged or hostile (make_zips.py says how each is made): each raised something other than
    # SubmissionError before.
    ("zip_version.zip", MAX_SUBMISSION_BYTES,
     r"^zip_version\.zip says it needs a newer zip version than the grader can read\. " + _ZIP_AGAIN),
    ("zip_bad_utf8_name.zip", MAX_SUBMISSION_BYTES,
     r"^zip_bad_utf8_name\.zip is damaged: it marks a file name as UTF-8, but the name is not valid UTF-8\. " + _ZIP_AGAIN),
    ("zip_bad_local_header.zip", MAX_SUBMISSION_BYTES,
     r"^zip_bad_local_header\.zip is damaged or uses a compression the grader cannot read \(solutionX\.py\)\. " + _ZIP_AGAIN),
    ("zip_negative_offset.zip", MAX_SUBMISSION_BYTES,
     r"^zip_negative_offset\.zip is damaged or uses a compression the grader cannot read \(solution\.py\)\. "),
    ("zip_bzip2_broken.zip", MAX_SUBMISSION_BYTES,
     r"^zip_bzip2_broken\.zip is damaged or uses a compression the grader cannot read \(solution\.py\)\. "),
    ("zip_lzma_broken.zip", MAX_SUBMISSION_BYTES,
     r"^zip_lzma_broken\.zip is damaged or uses a compression the grader cannot read \(solution\.py\)\. "),
    ("zip_empty_name.zip", MAX_SUBMISSION_BYTES, r"^zip_empty_name\.zip is damaged: one of its entries has no name\. "),
    # Names that are terminal escape sequences reach the message written out, never raw.
    ("zip_escape_names.zip", MAX_SUBMISSION_BYTES,
     r"^zip_escape_names\.zip has 2 code files \(\\x1b\[2Jscore\.py, b\\nc\.py\) and the grader cannot tell"),
]


@pytest.mark.parametrize("fixture, max_bytes, message", BAD, ids=[f"{row[0]}-{row[1]}" for row in BAD])
def test_bad_folder_or_zip_is_refused_with_a_sentence_for_the_student(fixture, max_bytes, message):
    with pytest.raises(SubmissionError, match=message) as caught:
        load_submission(FIXTURES / fixture, max_bytes=max_bytes)
    assert_for_student(str(caught.value))


def test_a_zip_member_named_as_an_escape_sequence_is_graded_under_a_safe_name():
    submission = load_submission(FIXTURES / "zip_escape_chosen.zip")
    assert submission.origin == "zip zip_escape_chosen.zip -> \\x1b]0;graded 100/100\\x07.py"
    assert submission.source == ZIPPED_SOLUTION


def test_folder_names_that_are_not_text_are_shown_safely(tmp_path):
    folder = tmp_path / "hw"
    folder.mkdir()
    for name in (b"\x1b[2Ja.py", b"\xff\xfe.py"):
        (folder / os.fsdecode(name)).write_text("x = 1\n")
    with pytest.raises(SubmissionError, match=r"^hw has 2 code files \(\\x1b\[2Ja\.py, \ufffd\ufffd\.py\)") as caught:
        load_submission(folder)
    assert_for_student(str(caught.value))


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
    assert submission.defined_functions == {"build_model"}
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


def test_folder_with_a_fifo_is_refused(tmp_path):
    folder = tmp_path / "hw"
    folder.mkdir()
    (folder / "solution.py").write_text("x = 1\n")
    os.mkfifo(folder / "pipe")
    with pytest.raises(SubmissionError, match=r"^hw contains pipe, which is not a regular file\. "):
        load_submission(folder)
