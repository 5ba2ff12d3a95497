"""Folders and zips: finding the one code file to grade, within the limits on entries and size."""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.submission.record import SubmissionError
from grader.present import size_text as size
from grader.submission.wording import TOO_BIG_HINT, count, listing, shown

MAX_ENTRIES = 1000  # files in a folder or entries in a zip; a homework needs a handful
CODE_SUFFIXES = (".py", ".ipynb")
# Tried in this order when a folder holds several code files and none stands out.
PREFERRED_NAMES = ("submission.py", "solution.py")
# Editors, Jupyter and macOS leave these next to the student's work; they are never graded.
JUNK_NAMES = frozenset({"__pycache__", "__MACOSX"})
_ZIP_AGAIN = "Make the zip again with your system's zip tool."
# What zipfile raises, besides BadZipFile, on a damaged directory or entry: a bad offset (ValueError),
# a short read (EOFError, struct.error), a broken bzip2 or LZMA stream (OSError, LZMAError), an
# encryption or compression it lacks (RuntimeError, NotImplementedError).
_DAMAGED = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, struct.error,
            NotImplementedError, RuntimeError, ValueError, OverflowError, IndexError)


@dataclass(frozen=True)
class Member:
    """The code file chosen in a folder or zip, read but not yet parsed."""

    data: bytes
    """The file's bytes, at most the size limit."""
    path: str
    """Its path inside the folder or zip, safe to show."""
    container: str
    """The folder or zip, in words: "folder hw", "zip hw.zip"."""
    notes: tuple[str, ...]
    """What the choice left out, for the student."""
    content_hash: str
    """SHA-256 of the zip as uploaded, or over each file's path and bytes in a folder."""


def read_folder(root: Path, max_bytes: int) -> Member:
    files = walk_folder(root, max_bytes)
    chosen, notes = _choose(sorted(files), shown(root.name))
    digest = hashlib.sha256()
    for relative in sorted(files):
        data = files[relative].read_bytes()
        # Length-prefixed, so that moving bytes between a path and its contents changes the hash.
        encoded = relative.encode("utf-8", "surrogateescape")
        digest.update(len(encoded).to_bytes(8, "big") + encoded + len(data).to_bytes(8, "big") + data)
    return Member(files[chosen].read_bytes(), shown(chosen), f"folder {shown(root.name)}", notes, digest.hexdigest())


def walk_folder(root: Path, max_bytes: int) -> dict[str, Path]:
    """Relative POSIX path -> file, for every file that is not junk, with the limits a zip has."""
    name = shown(root.name)
    files: dict[str, Path] = {}
    entries = total = 0
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(entry for entry in subdirectories if not _is_junk(entry))
        for entry in sorted(names) + subdirectories:
            if _is_junk(entry):
                continue
            entries += 1
            if entries > MAX_ENTRIES:
                raise SubmissionError(
                    f"{name} holds more than {MAX_ENTRIES} files and folders. "
                    "Submit only your code, not a whole project or data set."
                )
            path = Path(directory, entry)
            relative = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise SubmissionError(
                    f"{name} contains a symbolic link ({shown(relative)}); the grader reads only real files. "
                    "Copy the file in instead."
                )
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                raise SubmissionError(
                    f"{name} contains {shown(relative)}, which is not a regular file. "
                    "Submit only your code files."
                )
            total += path.lstat().st_size
            if total > max_bytes:
                raise SubmissionError(f"{name} holds more than {size(max_bytes)}, the limit. {TOO_BIG_HINT}")
            files[relative] = path
    return files


def read_zip(data: bytes, name: str, max_bytes: int) -> Member:
    """Reads the zip in memory: nothing is extracted, so no entry can land outside the grader's folders.

    `name` is the zip's name, already safe to show.
    """
    archive = _open_zip(data, name)
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise SubmissionError(
                f"{name} has {len(infos):,} entries; the limit is {MAX_ENTRIES}. "
                "Zip only your code, not a whole project, a virtual environment or a data set."
            )
        files: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            entry = info.filename.replace("\\", "/")
            parts = entry.split("/")
            if not entry:
                raise SubmissionError(f"{name} is damaged: one of its entries has no name. {_ZIP_AGAIN}")
            if entry.startswith("/") or re.match(r"[A-Za-z]:", entry) or ".." in parts:
                raise SubmissionError(
                    f"{name} contains a path outside itself: {shown(entry)}. "
                    "Zip your folder again with your system's ordinary zip tool, "
                    "or upload the .py or .ipynb file on its own."
                )
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SubmissionError(
                    f"{name} contains a symbolic link ({shown(entry)}); the grader reads only real files. "
                    "Zip the file itself instead."
                )
            if info.flag_bits & 0x1:
                raise SubmissionError(
                    f"{name} is password-protected; the grader cannot open it. "
                    "Zip your work again without a password."
                )
            total += info.file_size
            if info.is_dir() or any(_is_junk(part) for part in parts):
                continue
            files[entry] = info
        if total > max_bytes:
            raise SubmissionError(f"{name} unpacks to {size(total)}; the limit is {size(max_bytes)}. {TOO_BIG_HINT}")
        chosen, notes = _choose(sorted(files), name)
        try:
            with archive.open(files[chosen]) as member:
                # The sizes above are the zip's own claims; read no more than the limit whatever they say.
                content = member.read(max_bytes + 1)
        except _DAMAGED as error:
            raise SubmissionError(
                f"{name} is damaged or uses a compression the grader cannot read ({shown(chosen)}). {_ZIP_AGAIN}"
            ) from error
        if len(content) > max_bytes:
            raise SubmissionError(f"{name} unpacks to more than {size(max_bytes)}, the limit. {TOO_BIG_HINT}")
    return Member(content, shown(chosen), f"zip {name}", notes, hashlib.sha256(data).hexdigest())


def _open_zip(data: bytes, name: str) -> zipfile.ZipFile:
    """The zip's directory, read, or SubmissionError saying why it cannot be."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except NotImplementedError as error:  # a "version needed to extract" above what zipfile reads
        raise SubmissionError(
            f"{name} says it needs a newer zip version than the grader can read. {_ZIP_AGAIN}"
        ) from error
    except UnicodeDecodeError as error:
        raise SubmissionError(
            f"{name} is damaged: it marks a file name as UTF-8, but the name is not valid UTF-8. {_ZIP_AGAIN}"
        ) from error
    except _DAMAGED as error:
        raise SubmissionError(
            f"{name} is not a valid zip file: it may be damaged or only partly uploaded. "
            "Make the zip again and upload it."
        ) from error


def _is_junk(name: str) -> bool:
    return name.startswith(".") or name in JUNK_NAMES


def _choose(paths: list[str], container: str) -> tuple[str, tuple[str, ...]]:
    """The one code file to grade among `paths` (sorted, relative, junk removed) and a note on any left out.

    The rule: exactly one .py; else exactly one .ipynb and no .py; else submission.py, then
    solution.py; else exactly one .ipynb beside several .py files. A file named solution.py
    outranks a lone notebook because the student chose that name for the grader. `container`
    is the folder's or zip's name, safe to show.
    """
    top = [path for path in paths if "/" not in path]
    folders = {path.split("/")[0] for path in paths if "/" in path}
    if not any(path.lower().endswith(CODE_SUFFIXES) for path in top) and len(folders) == 1:
        wrapper = folders.pop() + "/"
        top = [path for path in paths if path.startswith(wrapper) and "/" not in path[len(wrapper):]]
    python = [path for path in top if path.lower().endswith(".py")]
    notebooks = [path for path in top if path.lower().endswith(".ipynb")]
    code = python + notebooks
    names = {PurePosixPath(path).name.lower(): path for path in python}
    if len(python) == 1:
        chosen = python[0]
    elif len(notebooks) == 1 and not python:
        chosen = notebooks[0]
    elif preferred := next((names[name] for name in PREFERRED_NAMES if name in names), None):
        chosen = preferred
    elif len(notebooks) == 1:
        chosen = notebooks[0]
    elif code:
        raise SubmissionError(
            f"{container} has {count(len(code), 'code file')} ({listing(code)}) "
            "and the grader cannot tell which one to grade. "
            "Submit a single .py or .ipynb file, or name the file to grade solution.py."
        )
    else:
        found = f"found: {listing(paths)}" if paths else "it is empty"
        if any(path.lower().endswith(".zip") for path in paths):
            found += "; zips inside a zip or folder are not opened"
        raise SubmissionError(
            f"{container} has no .py or .ipynb file at its top level ({found}). "
            "Put your code file at the top level of the folder or zip, "
            "or upload the .py or .ipynb file on its own."
        )
    others = [path for path in code if path != chosen]
    note = (
        (f"Graded {shown(chosen)} and left out the other code next to it ({listing(others)}): "
         f"everything the grader needs must be in {shown(PurePosixPath(chosen).name)}.",)
        if others
        else ()
    )
    return chosen, note
