"""An artifact: the exact bytes that are stored, graded and regraded, under a name that says how to read them."""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.present import size_text
from grader.submission import Submission, read_submission
from grader.submission.archive import walk_folder
from grader.submission.record import SubmissionError
from grader.submission.wording import TOO_BIG_HINT, shown
from grader.text import safe_text

SUFFIXES = (".py", ".ipynb", ".zip")
MAX_FILENAME_CHARS = 200
"""Below the usual 255-byte limit on a file name, with room for the ".zip" a folder gets."""
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
"""Every member of a zipped folder gets this date, so the same files always make the same bytes (and hash)."""
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class IntakeError(ValueError):
    """The upload or path cannot become a submission; the message says why, for the student."""


@dataclass(frozen=True)
class Artifact:
    """What is stored for one submission, and all that grading it ever reads."""

    filename: str
    """The submitter's file name without folders or control characters, ending .py, .ipynb or .zip."""
    content: bytes
    """The bytes: the file itself, or a folder as a zip made by `from_path`."""
    content_hash: str
    """sha256 hex of `content`: the same bytes are the same submission."""

    @property
    def kind(self) -> str:
        """"py", "ipynb" or "zip": how the reader opens the bytes."""
        return self.filename.rsplit(".", 1)[1].lower()

    @property
    def size_bytes(self) -> int:
        return len(self.content)

    @classmethod
    def of(cls, filename: str, content: bytes) -> "Artifact":
        return cls(filename, content, hashlib.sha256(content).hexdigest())

    @classmethod
    def stored(cls, filename: str, kind: str, content: bytes, content_hash: str) -> "Artifact":
        """A stored submission as an artifact again. A gradebook from before intake kept a folder
        zipped under the folder's bare name: the stored kind, not the name, says how to read it."""
        if not filename.lower().endswith(f".{kind}"):
            filename = f"{filename or 'submission'}.{kind}"
        return cls(filename, content, content_hash)


def safe_filename(filename: str) -> str:
    """The file's own name without folders or control characters, at most MAX_FILENAME_CHARS long; a
    lone surrogate (which a database could not store) becomes U+FFFD."""
    name = safe_text(_CONTROL_CHARS.sub("", filename.replace("\\", "/").rsplit("/", 1)[-1])).strip()
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        name = f"{stem[:MAX_FILENAME_CHARS - len(suffix) - 1]}.{suffix}" if dot else name[:MAX_FILENAME_CHARS]
    return name


def from_upload(filename: str, data: bytes, *, max_bytes: int) -> Artifact:
    """An uploaded file as an artifact; IntakeError when its type, emptiness or size is refused."""
    name = safe_filename(filename)
    if not name.lower().endswith(SUFFIXES) or name.startswith("."):
        raise IntakeError(f"Upload a {', '.join(SUFFIXES)} file; {shown(name) or 'this one'} has another type. "
                          "A folder goes in as a .zip.")
    if not data:
        raise IntakeError(f"{shown(name)} is empty. Did you save it before uploading?")
    _check_size(name, len(data), max_bytes)
    return Artifact.of(name, bytes(data))


def from_path(path: Path, *, max_bytes: int) -> Artifact:
    """A file, or a folder zipped, as an artifact; IntakeError when it cannot be one.

    A folder is walked with the reader's own rules (at most archive.MAX_ENTRIES entries, no symbolic links or
    special files, caches such as __pycache__ left out) and its size limit counted while walking, so
    nothing past the limit is read. It becomes NAME.zip with members in sorted order and fixed dates.
    """
    path = Path(path)
    name = safe_filename(path.name)
    if path.is_symlink():
        raise IntakeError(f"{shown(name)} is a symbolic link; give the grader the file or folder itself.")
    if path.is_dir():
        try:
            files = walk_folder(path, max_bytes)
        except SubmissionError as error:
            raise IntakeError(str(error)) from None
        if not files:
            raise IntakeError(f"The folder {shown(name)} holds no files.")
        return Artifact.of(f"{name or 'submission'}.zip", _zipped(files))
    if not path.is_file():
        raise IntakeError(f"{shown(name)} does not exist or is not a regular file or folder.")
    if not name.lower().endswith(SUFFIXES):
        suffix = path.suffix
        got = f"got {shown(suffix)}" if suffix else "got a file with no extension"
        raise IntakeError(f"{shown(name)} is not a Python file, notebook or zip ({got}).")
    _check_size(name, path.stat().st_size, max_bytes)
    with open(path, "rb") as file:
        data = file.read(max_bytes + 1)  # the file may grow between stat and read
    _check_size(name, len(data), max_bytes)
    if not data:
        raise IntakeError(f"{shown(name)} is empty.")
    return Artifact.of(name, data)


def load(artifact: Artifact, *, max_bytes: int, expected_functions: Sequence[str] = ()) -> Submission:
    """The artifact read into a Submission by the reader's child process under limits; raises
    SubmissionError (the bytes' fault: a syntax error, a damaged zip) or ReaderUnavailable (the grader's)."""
    with tempfile.TemporaryDirectory(prefix="intake-") as private:
        path = Path(private) / artifact.filename
        path.write_bytes(artifact.content)
        return read_submission(path, max_bytes=max_bytes, expected_functions=expected_functions)


def _zipped(files: dict[str, Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in sorted(files):
            info = zipfile.ZipInfo(relative, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[relative].read_bytes())
    return buffer.getvalue()


def _check_size(name: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise IntakeError(f"{shown(name)} is {size_text(size)}; the limit is {size_text(max_bytes)}. {TOO_BIG_HINT}")

