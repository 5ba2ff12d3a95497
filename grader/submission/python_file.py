"""Plain .py files: reading the bytes within the size limit, decoding, parsing and syntax-error messages."""

from __future__ import annotations

import ast
import re
import resource
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.submission.record import OverLimits, SubmissionError
from grader.present import size_text as size
from grader.submission.wording import TOO_BIG_HINT, shown


@dataclass(frozen=True)
class Code:
    """One code file read into a module, before the loader adds what it found in the tree."""

    source: str
    """The module, as Submission.source."""
    origin: str
    """The file in words: "hw.py", "notebook hw.ipynb (3 code cells)"."""
    notes: tuple[str, ...]
    """What reading the file skipped or replaced, for the student."""
    tree: ast.Module
    """The module's syntax tree, parsed once and known to compile."""
    cells: tuple[tuple[int, int], ...] = ()
    """A notebook's code cells, as Submission.cells."""


def read_file(path: Path, max_bytes: int) -> bytes:
    name = shown(path.name)
    file_size = path.stat().st_size
    if file_size > max_bytes:
        raise SubmissionError(f"{name} is {size(file_size)}; the limit is {size(max_bytes)}. {TOO_BIG_HINT}")
    with path.open("rb") as file:
        # The file may grow between stat and read; never hold more than the limit.
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SubmissionError(f"{name} is over {size(max_bytes)}, the limit. {TOO_BIG_HINT}")
    return data


def decode(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    # NUL is valid UTF-8 but never in a text file; Python refuses it in source too.
    if "\0" in text:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_python(data: bytes, name: str) -> Code:
    """A .py file as a module; `name` is its path as the student knows it, already safe to show."""
    source = decode(data)
    if source is None:
        raise SubmissionError(
            f"{name} is not a UTF-8 text file: a Python file was expected "
            "(did you upload a .pyc, a .docx or an image?)"
        )
    command = f"run `python {PurePosixPath(name).name}` locally to see the error"
    try:
        tree = parse(source)
    except SyntaxError as error:
        where = f" on line {error.lineno}" if error.lineno else ""
        raise SubmissionError(
            f"Syntax error{where}: {describe_syntax_error(error, source)} "
            f"The grader could not read your file; {command}."
        ) from error
    if not tree.body:
        raise SubmissionError(
            f"{name} is empty: it holds no Python code, only blank lines or comments. "
            "Did you save it before uploading?"
        )
    return Code(source if source.endswith("\n") else source + "\n", name, (), tree)


def parse(source: str) -> ast.Module:
    """The module's tree, once it also compiles (and never runs): compiling finds the errors that
    ast.parse lets through, like `return` outside a function or a late `from __future__` import."""
    with reading_code():
        tree = ast.parse(source)
        compile_only(tree)
    return tree


def compile_only(code: str | ast.Module) -> None:
    # dont_inherit: this file's own `from __future__ import annotations` is not the student's.
    compile(code, "<submission>", "exec", dont_inherit=True)


# In the grader, parsing happens in a child process (see isolated.py) and never waits here; the
# lock is for callers of load_submission in one process, such as the tests.
_PARSER_LOCK = threading.Lock()
# CPython 3.11's parser reports code nested past its stack (thousands of `-` or `lambda:` in a
# row) as a MemoryError while holding next to nothing; a real shortage comes only after the parse
# has used a good part of the process's memory limit.
_REAL_SHORTAGE = 0.25  # share of RLIMIT_AS used at peak, above which a MemoryError is real


@contextmanager
def reading_code():
    """Keeps SyntaxWarnings (e.g. "\\d" in a regex) out of the grader's log, and turns code nested
    too deeply for the parser into a message for the student."""
    try:
        # One parse at a time: CPython 3.11.7's parser fails ("AST constructor recursion depth
        # mismatch", gh-106905) when threads parse at once, and warnings.catch_warnings is not
        # thread-safe either.
        with _PARSER_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except MemoryError as error:
        if near_memory_limit():
            raise OverLimits(
                "Your code is too large or too complex for the grader to read: it ran out of memory. "
                "Submit only your code."
            ) from error
        raise _too_deep() from error
    except RecursionError as error:
        raise _too_deep() from error


def _too_deep() -> SubmissionError:
    return SubmissionError(
        "Your code is nested too deeply for the grader to read (an expression or block inside "
        "hundreds of others). Split it into smaller pieces."
    )


def near_memory_limit() -> bool:
    """Whether this process has used a good part of its RLIMIT_AS, when it has one: then an error
    (MemoryError, or a SystemError from compile() short of memory) means the limit, not the code."""
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # ru_maxrss is in KiB on Linux
    return limit != resource.RLIM_INFINITY and peak > _REAL_SHORTAGE * limit


def describe_syntax_error(error: SyntaxError, source: str, rename_line=lambda line: f"line {line}") -> str:
    """Python's message as a sentence, with the offending line quoted."""
    message = re.sub(r"\bline (\d+)", lambda match: rename_line(int(match[1])), error.msg or "invalid syntax")
    # Errors found by the compiler rather than the parser come without the line's text.
    lines = source.split("\n")
    text = lines[error.lineno - 1].strip() if error.lineno and 0 < error.lineno <= len(lines) else ""
    if len(text) > 100:
        text = text[:100] + "..."
    quoted = f" The line reads `{shown(text, width=400)}`." if text else ""
    return f"{shown(message.rstrip('.'), 300)}.{quoted}"
