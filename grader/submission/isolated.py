"""read_submission: load_submission run in a child process under limits, so no upload can stall the grader."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.present import size_text
from grader.submission.loader import MAX_SUBMISSION_BYTES
from grader.submission.record import OverLimits, Submission, SubmissionError
from grader.submission.wording import shown
from grader.text import safe_json, safe_text

log = logging.getLogger(__name__)

# Not grader.config's: the child imports this module, and must stay within the standard library
# (grader.config brings in the sandbox package, and with it NumPy).
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CHILD_MODULE = "grader.submission.child"
# The reply holds the module's source as JSON: a notebook's source can be several times the file
# (each skipped IPython line gains a 25-character mark), and JSON writes a control character in six
# bytes. Ten times the upload, plus room for the notes and names, holds every honest reply.
REPLY_BYTES_PER_UPLOAD_BYTE = 10
REPLY_EXTRA_BYTES = 2**20
STDERR_KEPT = 8 * 2**10  # the end of the child's stderr (a traceback), for the grader's log
_READ_CHUNK = 2**16


class ReaderUnavailable(SubmissionError):
    """The child process could not be started: a fault of the grader's machine, not of the upload,
    so a caller may retry later instead of scoring zero."""


@dataclass(frozen=True)
class ReadLimits:
    """What the child process that reads one submission may use.

    A homework of 100 KB reads in 0.05 s with 30 MB, and 5 MB of real code (the size limit) in
    about 3 s with 480 MB. What exceeds the limits is generated code that CPython parses in
    quadratic time or with hundreds of bytes per character: 5 MB of `def f(): return 1` lines
    takes many minutes to compile, 5 MB of `f(1)` lines 3.5 GB to parse.
    """

    wall_seconds: float = 20.0
    """Wall-clock time, measured by the grader; past it the child is killed."""
    cpu_seconds: int = 20
    """CPU time (RLIMIT_CPU, via prlimit): ends a child whose grader died before its clock ran out."""
    memory_bytes: int = 2**30
    """Address space of the child (RLIMIT_AS): Python, the upload, and its syntax tree."""
    open_files: int = 64
    """File descriptors (RLIMIT_NOFILE): the upload, the modules Python imports, the pipes."""

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            kinds, kind = ((int, float), "number") if field.name == "wall_seconds" else ((int,), "integer")
            if isinstance(value, bool) or not isinstance(value, kinds) or not 0 < value < math.inf:
                raise ValueError(f"Expected a strictly positive {kind}. Received {field.name}={value!r}.")

    def __str__(self) -> str:
        return f"{self.wall_seconds:g} s, {size_text(self.memory_bytes)}"


def read_submission(
    path: Path,
    *,
    max_bytes: int = MAX_SUBMISSION_BYTES,
    expected_functions: Sequence[str] = (),
    limits: ReadLimits = ReadLimits(),
) -> Submission:
    """`load_submission(path, ...)` run in a child process under `limits`; raises SubmissionError,
    and nothing else, when the submission cannot be read, its limits included.

    The child parses and analyses the upload; this process only reads back plain JSON, with every
    string but the source made safe to print. Threads that call this at once never wait on each other.
    """
    path = Path(path).absolute()
    name = shown(path.name)
    over_limits = SubmissionError(
        f"{name} is too large or too complex for the grader to read within its limits ({limits}): "
        "submit only your code, without generated data or huge expressions."
    )
    try:
        process = subprocess.Popen(
            _command(path, max_bytes, expected_functions, limits),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO_ROOT,
            env={"LC_ALL": "C.UTF-8"},
            start_new_session=True,
        )
    except OSError as error:
        log.error("could not start the submission reader for %s: %s", shown(str(path), 400), error)
        raise ReaderUnavailable(
            f"The grader could not start reading {name} (a problem on the grader's side, not with your "
            "file). Upload it again later; if this happens again, tell your instructor."
        ) from error

    cap = REPLY_BYTES_PER_UPLOAD_BYTE * max_bytes + REPLY_EXTRA_BYTES
    try:
        reply, stderr, stopped = _collect(process, cap, time.monotonic() + limits.wall_seconds)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()

    if stderr.strip():
        log.warning("the submission reader wrote to stderr for %s:\n%s", shown(str(path), 400), safe_text(
            stderr.decode("utf-8", "replace")))
    # SIGXCPU: the CPU limit; SIGKILL: the kernel's, or the system's out-of-memory killer.
    killed_by_a_limit = process.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
    if stopped or killed_by_a_limit or (process.returncode != 0 and b"MemoryError" in stderr):
        raise over_limits
    try:
        return _from_reply(reply, over_limits)
    except _BadReply as error:
        log.error("the submission reader for %s exited with %s and no usable reply: %s",
                  shown(str(path), 400), process.returncode, error)
        raise SubmissionError(
            f"The grader stopped unexpectedly while reading {name}. Upload it again; if this happens again, "
            "tell your instructor, who can find what went wrong in the grader's log."
        ) from None


def _command(path: Path, max_bytes: int, expected_functions: Sequence[str], limits: ReadLimits) -> list[str]:
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        raise FileNotFoundError("prlimit is not installed (util-linux provides it): run make setup")
    return [
        # prlimit sets the limits and execs Python: nothing runs between fork and exec, as the
        # grader's threads require (no preexec_fn).
        prlimit, f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}",
        f"--nofile={limits.open_files}", "--core=0", "--",
        # -E -s -S: no PYTHON* variables, no user site, no site-packages (and none of their .pth
        # files): the standard library only. -B: the child writes no .pyc files.
        sys.executable, "-E", "-s", "-S", "-B", "-m", CHILD_MODULE,
        f"--max-bytes={max_bytes}", *(f"--expect={name}" for name in expected_functions), "--", os.fsdecode(path),
    ]


def _collect(process: subprocess.Popen, cap: int, deadline: float) -> tuple[bytes, bytes, bool]:
    """(stdout, the end of stderr, whether the child was stopped for its clock or its output)."""
    stdout, stderr = bytearray(), bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, stdout)
        selector.register(process.stderr, selectors.EVENT_READ, stderr)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return bytes(stdout), bytes(stderr), True
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, _READ_CHUNK)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                key.data.extend(chunk)
                if key.data is stderr:
                    del stderr[:-STDERR_KEPT]
                elif len(stdout) > cap:
                    return bytes(stdout), bytes(stderr), True
    try:
        process.wait(max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        return bytes(stdout), bytes(stderr), True
    return bytes(stdout), bytes(stderr), False


# --- the reply: one JSON object, written by the child, read back here -------------------------

_SETS = ("defined_functions", "top_level_names", "imported_modules")
_HASH = re.compile(r"[0-9a-f]{64}")


class _BadReply(Exception):
    """The child's output is not a reply it would write: it crashed, or the reader has a bug."""


def to_reply(outcome: Submission | SubmissionError) -> dict[str, Any]:
    """What the child prints: {"submission": {...}}, {"error": message} or {"over_limits": message}."""
    if isinstance(outcome, SubmissionError):
        return {"over_limits" if isinstance(outcome, OverLimits) else "error": str(outcome)}
    return {"submission": {
        "source": outcome.source,
        "origin": outcome.origin,
        "notes": list(outcome.notes),
        "content_hash": outcome.content_hash,
        **{field: sorted(getattr(outcome, field)) for field in _SETS},
        "cells": [list(cell) for cell in outcome.cells],
    }}


def _from_reply(output: bytes, over_limits: SubmissionError) -> Submission:
    try:
        reply = json.loads(output)
    except (ValueError, RecursionError) as error:
        raise _BadReply(f"the output is not JSON ({error}): {shown(output[:200].decode('ascii', 'replace'), 200)}")
    if not isinstance(reply, dict) or len(reply) != 1:
        raise _BadReply(f"expected one JSON object with one key, got {shown(repr(reply), 200)}")
    if "over_limits" in reply:
        raise over_limits
    if isinstance(reply.get("error"), str):
        raise SubmissionError(safe_text(reply["error"]))
    plain = reply.get("submission")
    if not isinstance(plain, dict) or not isinstance(plain.get("source"), str):
        raise _BadReply(f"no submission in the reply (keys: {shown(repr(sorted(reply)), 200)})")
    source = plain.pop("source")
    try:
        source.encode("utf-8")
    except UnicodeEncodeError as error:
        raise _BadReply("the source holds a lone surrogate, which the loader should have replaced") from error
    # The source is the student's code and goes to the sandbox as it is; every other string is
    # made safe here, where it enters the grader.
    plain = safe_json(plain)
    expected = {"origin": str, "notes": list, "content_hash": str, "cells": list, **{field: list for field in _SETS}}
    if set(plain) != set(expected) or not all(isinstance(plain[key], kind) for key, kind in expected.items()):
        raise _BadReply(f"the submission's fields are not as expected: {sorted(plain)}")
    if not all(isinstance(item, str) for key in ("notes", *_SETS) for item in plain[key]):
        raise _BadReply("a note or a name is not a string")
    if not _HASH.fullmatch(plain["content_hash"]):
        raise _BadReply("the content hash is not 64 hexadecimal digits")
    cells = plain["cells"]
    if not all(isinstance(cell, list) and len(cell) == 2 and all(type(n) is int and n > 0 for n in cell)
               for cell in cells) or [line for _, line in cells] != sorted({line for _, line in cells}):
        raise _BadReply("the cells are not (cell number, header line) pairs in the order of their lines")
    return Submission(
        source=source,
        origin=plain["origin"],
        notes=tuple(plain["notes"]),
        content_hash=plain["content_hash"],
        **{field: frozenset(plain[field]) for field in _SETS},
        cells=tuple((number, line) for number, line in cells),
    )
