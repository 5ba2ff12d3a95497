"""Reads what the sandbox wrote, trusting nothing: plain JSON and pickle-free .npy files only."""

from __future__ import annotations

import io
import json
import math
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from grader.present import size_text
from grader.text import safe_json

_KIND_NAMES = {
    "b": "bool",
    "i": "signed integer",
    "u": "unsigned integer",
    "f": "float",
    "c": "complex",
    "m": "timedelta",
    "M": "datetime",
    "S": "bytes",
    "U": "str",
    "V": "void",
    "O": "object",
}


class ObservationError(Exception):
    """What the sandbox wrote cannot be used; the message says why, names no host path, and is
    written for the instructor's log yet safe to show the student."""


def read_json(out_dir: Path, name: str, max_bytes: int = 2**20, *, what: str | None = None) -> Any:
    """The JSON value in `out_dir/name`, a plain file of at most `max_bytes`.

    `what`: how the errors name the file, in the student's words ("the grader's record of what your
    code did"); without it, by its folder and name, which are the grader's own.

    NaN and Infinity, which Python's json accepts, come back as floats: callers decide. Every
    string in it, keys included, is made safe here, where it enters the trusted side
    (grader.text: no control characters, no lone surrogates).
    """
    shown, data = _read_plain_file(Path(out_dir), name, max_bytes, what)
    try:
        return safe_json(json.loads(data.decode("utf-8")))
    except UnicodeDecodeError as error:
        raise ObservationError(f"{shown} is not UTF-8 text ({error.reason} at byte {error.start}).") from None
    except json.JSONDecodeError as error:
        raise ObservationError(f"{shown} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.") from None
    except RecursionError:
        raise ObservationError(f"{shown} nests JSON too deeply to be read.") from None
    except ValueError as error:
        # After JSONDecodeError, its subclass: an integer of more than 4300 digits raises a plain
        # ValueError, which escaped to the grader and stopped grading.
        raise ObservationError(f"{shown} could not be read as JSON ({str(error)[:100]}).") from None


def read_array(
    out_dir: Path,
    name: str,
    *,
    dtype_kind: str = "f",
    shape: tuple[int | None, ...] | None = None,
    max_bytes: int = 64 * 2**20,
    what: str | None = None,
) -> np.ndarray:
    """The array in the .npy file `out_dir/name`, checked before it is trusted.

    `dtype_kind` lists the numpy dtype kinds allowed ("f" float, "fiu" any real number...);
    `shape`, when given, is matched entry by entry, None matching any length. Object and structured
    dtypes are refused and nothing is unpickled. NaN and inf values are returned: callers decide.
    `what` names the file in the errors, as for read_json ("your answer").
    """
    shown, data = _read_plain_file(Path(out_dir), name, max_bytes, what)
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            header_shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            header_shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ObservationError(f"{shown} is a .npy file of version {version[0]}.{version[1]}; expected 1.0 or 2.0 (numpy.save).")
    except ValueError as error:
        raise ObservationError(f"{shown} is not a .npy file written by numpy.save ({error}).") from None

    if dtype.hasobject:
        raise ObservationError(f"{shown} has dtype object; expected {_expected_kinds(dtype_kind)}. Save numbers, e.g. np.asarray(x, dtype='float32').")
    if dtype.fields is not None or dtype.subdtype is not None:
        raise ObservationError(f"{shown} has a structured dtype {dtype}; expected a plain {_expected_kinds(dtype_kind)} array.")
    if dtype.kind not in dtype_kind:
        raise ObservationError(f"{shown} has dtype {dtype}; expected {_expected_kinds(dtype_kind)}.")
    if shape is not None and (
        len(header_shape) != len(shape) or any(want is not None and want != got for got, want in zip(header_shape, shape))
    ):
        raise ObservationError(f"{shown} has shape {tuple(header_shape)}; expected {tuple(shape)}.")

    # The header alone decides how much numpy would allocate: check it against the data first.
    expected = math.prod(header_shape) * dtype.itemsize
    if len(data) - stream.tell() != expected:
        raise ObservationError(
            f"{shown} holds {len(data) - stream.tell()} bytes of data, but its header says {expected} "
            f"({header_shape} of {dtype}): the file is truncated or padded."
        )
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as error:
        raise ObservationError(f"{shown} could not be read as an array ({error}).") from None


def _expected_kinds(kinds: str) -> str:
    return " or ".join(_KIND_NAMES.get(kind, repr(kind)) for kind in kinds)


def _read_plain_file(out_dir: Path, name: str, max_bytes: int, what: str | None = None) -> tuple[str, bytes]:
    """(the name to show, the bytes) of the regular file `name` right inside `out_dir`."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise ObservationError(f"{name!r} is not a plain file name (no slashes, not . or ..).")
    shown = what or f"{out_dir.name}/{name}"
    path = out_dir / name
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise ObservationError(f"{shown} is missing: the code in the sandbox did not write it.") from None
    _check_plain(shown, info, max_bytes)
    # O_NOFOLLOW and O_NONBLOCK: if the file was swapped for a link or a fifo since lstat, the open
    # fails or returns at once instead of following it or hanging.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise ObservationError(f"{shown} could not be opened ({error.strerror}).") from None
    with os.fdopen(fd, "rb") as file:
        opened = os.fstat(file.fileno())
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise ObservationError(f"{shown} changed while it was being read.")
        _check_plain(shown, opened, max_bytes)
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ObservationError(f"{shown} is larger than {size_text(max_bytes)}, the most that is read.")
    return shown, data


def _check_plain(shown: str, info: os.stat_result, max_bytes: int) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise ObservationError(f"{shown} is a symbolic link; the sandbox must write plain files.")
    if stat.S_ISDIR(info.st_mode):
        raise ObservationError(f"{shown} is a directory; expected a plain file.")
    if not stat.S_ISREG(info.st_mode):
        raise ObservationError(f"{shown} is not a regular file (a fifo, socket or device); the sandbox must write plain files.")
    if info.st_size > max_bytes:
        raise ObservationError(f"{shown} is {size_text(info.st_size)}; at most {size_text(max_bytes)} is read.")
