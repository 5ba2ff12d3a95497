"""load_submission: one upload (.py, notebook, folder or zip) read into a Submission, in this process."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

from grader.submission.analysis import analyse, missing_function_notes
from grader.submission.archive import CODE_SUFFIXES, read_folder, read_zip
from grader.submission.notebook import read_notebook
from grader.submission.python_file import Code, near_memory_limit, read_file, read_python
from grader.submission.record import OverLimits, Submission, SubmissionError
from grader.submission.wording import shown

log = logging.getLogger(__name__)

MAX_SUBMISSION_BYTES = 5 * 2**20  # default size limit (the caller may pass another)


def load_submission(
    path: Path, *, max_bytes: int = MAX_SUBMISSION_BYTES, expected_functions: Sequence[str] = ()
) -> Submission:
    """Reads a .py file, a notebook, a folder or a zip into one module; raises SubmissionError, and
    nothing else, when it cannot.

    A folder or zip must hold its code file at the top level or, when the top level has no code
    and one subfolder, in that subfolder (`zip -r hw3.zip hw3` and macOS make zips like that).
    Folders follow the same rule, so unzipping never changes what gets graded.

    Functions in `expected_functions` that are missing only add a note: they cost the checks
    that need them, not the whole grade.

    This parses untrusted code in the calling process, with no limit on time or memory: the
    grader calls `read_submission`, which runs this in a child process under limits.
    """
    path = Path(path)
    try:
        return _load(path, max_bytes, expected_functions)
    except SubmissionError:
        raise
    # The loader's outermost boundary: whatever else the bytes provoke (a zipfile or json corner
    # not handled above) still ends as a sentence for the student, and the traceback is logged.
    except Exception as error:
        if isinstance(error, MemoryError) or near_memory_limit():
            raise OverLimits(
                f"{shown(path.name)} is too large or too complex for the grader to read: it ran out of memory. "
                "Submit only your code."
            ) from error
        log.exception("unexpected error reading the submission %s", shown(str(path), width=400))
        raise SubmissionError(
            f"The grader could not read {shown(path.name)}: it is damaged or in a form the grader does "
            "not expect. Save or zip your work again and upload it; if this happens again, tell your instructor."
        ) from error


def _load(path: Path, max_bytes: int, expected_functions: Sequence[str]) -> Submission:
    name = shown(path.name)
    if not path.exists():
        raise SubmissionError(
            f"No file or folder named {name} was found: nothing was uploaded, or the upload did not finish."
        )
    if path.is_dir():
        member = read_folder(path, max_bytes)
    elif path.is_file():
        suffix = path.suffix.lower()
        if suffix not in (*CODE_SUFFIXES, ".zip"):
            got = f"got {shown(suffix)}" if suffix else "got a file with no extension"
            raise SubmissionError(
                f"{name} is not a Python file, notebook or zip ({got}). "
                "Upload your code as a .py file or a Jupyter notebook (.ipynb), or a .zip holding one."
            )
        data = read_file(path, max_bytes)
        if suffix == ".zip":
            member = read_zip(data, name, max_bytes)
        else:
            code = read_code(data, name)
            return _submission(code, code.origin, code.notes, hashlib.sha256(data).hexdigest(), expected_functions)
    else:
        raise SubmissionError(f"{name} is not a regular file or folder, so the grader cannot read it.")
    code = read_code(member.data, member.path)
    origin = f"{member.container} -> {code.origin}"
    return _submission(code, origin, member.notes + code.notes, member.content_hash, expected_functions)


def read_code(data: bytes, name: str) -> Code:
    """A .py or .ipynb file as a module; `name` is its path as the student knows it, safe to show."""
    if name.lower().endswith(".ipynb"):
        return read_notebook(data, name)
    return read_python(data, name)


def _submission(code: Code, origin: str, notes: tuple[str, ...], content_hash: str,
                expected_functions: Sequence[str]) -> Submission:
    analysis = analyse(code.tree)
    return Submission(
        source=code.source,
        origin=origin,
        notes=notes + missing_function_notes(analysis, expected_functions),
        content_hash=content_hash,
        defined_functions=analysis.defined_functions,
        top_level_names=analysis.top_level_names,
        imported_modules=analysis.imported_modules,
        cells=code.cells,
    )
