"""Intake: a path or upload becomes the exact bytes that are stored and graded, its limits checked first."""

import io
import os
import zipfile

import pytest

from grader.intake import Artifact, IntakeError, from_path, from_upload, load, safe_filename
from grader.submission import SubmissionError

CODE = b"def conv2d(x, w):\n    return x\n"


def test_a_file_is_stored_as_it_is(tmp_path):
    path = tmp_path / "s01.py"
    path.write_bytes(CODE)
    artifact = from_path(path, max_bytes=1000)
    assert (artifact.filename, artifact.content, artifact.kind) == ("s01.py", CODE, "py")
    assert artifact == Artifact.of("s01.py", CODE)


def test_a_folder_becomes_a_zip_named_after_it_with_the_same_bytes_every_time(tmp_path):
    folder = tmp_path / "s05_lin_na"
    (folder / "lib").mkdir(parents=True)
    (folder / "solution.py").write_bytes(CODE)
    (folder / "lib" / "helpers.py").write_bytes(b"X = 1\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "solution.cpython-311.pyc").write_bytes(b"\0" * 10)
    first = from_path(folder, max_bytes=10_000)
    os.utime(folder / "solution.py", (1, 1))  # a later checkout of the same files
    again = from_path(folder, max_bytes=10_000)
    assert first.filename == "s05_lin_na.zip" and first.kind == "zip"
    assert first.content_hash == again.content_hash
    with zipfile.ZipFile(io.BytesIO(first.content)) as archive:
        assert archive.namelist() == ["lib/helpers.py", "solution.py"]
        assert archive.read("solution.py") == CODE


def test_the_graded_folder_is_the_stored_zip(tmp_path):
    folder = tmp_path / "hw"
    folder.mkdir()
    (folder / "solution.py").write_bytes(CODE)
    submission = load(from_path(folder, max_bytes=10_000), max_bytes=10_000, expected_functions=("conv2d",))
    assert "conv2d" in submission.defined_functions


@pytest.mark.parametrize("make, message", [
    (lambda root: (root / "big.py").write_bytes(b"#" * 2000), r"big\.py is 2\.0 KiB; the limit is 1000 bytes"),
    (lambda root: (root / "notes.txt").write_bytes(CODE), r"not a Python file, notebook or zip \(got \.txt\)"),
    (lambda root: (root / "README").write_bytes(CODE), r"got a file with no extension"),
    (lambda root: (root / "empty.py").write_bytes(b""), r"empty\.py is empty"),
], ids=["too-big", "wrong-type", "no-suffix", "empty"])
def test_a_refused_file_says_why(tmp_path, make, message):
    make(tmp_path)
    (path,) = tmp_path.iterdir()
    with pytest.raises(IntakeError, match=message):
        from_path(path, max_bytes=1000)


def test_a_folder_over_the_limit_is_refused_before_it_is_read_whole(tmp_path):
    folder = tmp_path / "hw"
    folder.mkdir()
    for index in range(5):
        (folder / f"part{index}.py").write_bytes(b"#" * 400)
    with pytest.raises(IntakeError, match="holds more than 1000 bytes, the limit"):
        from_path(folder, max_bytes=1000)


def test_a_folder_with_a_symbolic_link_is_refused_not_silently_shortened(tmp_path):
    folder = tmp_path / "hw"
    folder.mkdir()
    (folder / "solution.py").write_bytes(CODE)
    (folder / "data.py").symlink_to("/etc/passwd")
    with pytest.raises(IntakeError, match=r"symbolic link \(data\.py\)"):
        from_path(folder, max_bytes=10_000)


def test_a_folder_with_too_many_entries_is_refused(tmp_path):
    folder = tmp_path / "hw"
    folder.mkdir()
    for index in range(1001):
        (folder / f"f{index}.py").write_bytes(b"")
    with pytest.raises(IntakeError, match="more than 1000 files and folders"):
        from_path(folder, max_bytes=10_000)


def test_a_symbolic_link_given_as_the_submission_is_refused(tmp_path):
    (tmp_path / "real.py").write_bytes(CODE)
    (tmp_path / "link.py").symlink_to(tmp_path / "real.py")
    with pytest.raises(IntakeError, match="symbolic link"):
        from_path(tmp_path / "link.py", max_bytes=1000)


@pytest.mark.parametrize("filename, data, message", [
    ("hw.txt", CODE, r"Upload a \.py, \.ipynb, \.zip file"),
    ("hw.py", b"", "is empty"),
    ("hw.py", b"#" * 2000, "the limit is 1000 bytes"),
    (".py", CODE, "Upload a"),
])
def test_a_refused_upload_says_why(filename, data, message):
    with pytest.raises(IntakeError, match=message):
        from_upload(filename, data, max_bytes=1000)


def test_an_upload_keeps_only_a_safe_name():
    artifact = from_upload("C:\\Users\\me\\hw\x1b[2J.py", CODE, max_bytes=1000)
    assert artifact.filename == "hw[2J.py"
    assert safe_filename("a/" + "x" * 300 + ".ipynb").endswith(".ipynb")
    assert len(safe_filename("x" * 300 + ".ipynb")) == 200


def test_unreadable_bytes_are_the_readers_to_refuse(tmp_path):
    artifact = Artifact.of("broken.py", b"def f(:\n")
    with pytest.raises(SubmissionError, match="syntax"):
        load(artifact, max_bytes=1000)


def test_the_kind_follows_the_suffix():
    assert [Artifact.of(name, b"x").kind for name in ("a.py", "b.IPYNB", "c.zip")] == ["py", "ipynb", "zip"]
