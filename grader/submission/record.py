"""The Submission the loader hands back, as plain data, and what the grader does with it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CELL_HEADER = "# --- cell {} ---"
SKIPPED_MARK = "# skipped by the grader: "
"""Begins the comment that replaces a notebook's IPython line (after `pass  `) or a cell magic's line."""
_CELL_HEADER_LINE = re.compile(r"# --- cell (\d+) ---")
# A frame of the student's module in a traceback from the sandbox (grader/probe/driver.py), at
# /submission, or at the host folder the runner names in the weaker rlimits mode.
_OWN_FRAME = re.compile(r'  File "[^"\n]*/submission/submission\.py", line (\d{1,9}), in ([^\n]*)')


class SubmissionError(Exception):
    """The submission cannot be graded at all; str(error) is the message for the student."""


class OverLimits(SubmissionError):
    """Reading the submission ran out of memory; `read_submission` restates it with its limits."""


@dataclass(frozen=True)
class Submission:
    """A student's code as one Python module, what the grader read from it without running it,
    and what the student should know about how it was read."""

    source: str
    """The Python code to run, as one module (always encodable as UTF-8). A notebook's code
    cells appear in order, each after a `# --- cell N ---` line; a skipped IPython line stays on
    its own line as `pass  # skipped by the grader: ...`, so every line keeps its place in its cell."""
    origin: str
    """What was submitted, in words: "hw.py", "notebook hw.ipynb (12 code cells)",
    "zip hw.zip -> hw3/solution.py"."""
    notes: tuple[str, ...]
    """For the student's feedback: what the loader skipped, replaced or chose, and functions it
    expected but did not find."""
    content_hash: str
    """SHA-256 (hex) of the submitted bytes: the file or the zip as uploaded, or for a folder a
    hash over each file's relative path and bytes, so a re-run can skip unchanged work."""
    defined_functions: frozenset[str]
    """Functions defined at the top level of the module, also inside `if`, `try` and `with`
    blocks, but not under `if __name__ == "__main__":`, since checks import the module."""
    top_level_names: frozenset[str]
    """Every name the module binds at that level: functions, classes, assignments, imports."""
    imported_modules: frozenset[str]
    """Top-level packages imported anywhere outside a main guard: `import x.y` and
    `from x.y import z` give x, and so do `__import__("x.y")` and `importlib.import_module("x.y")`
    with a literal name."""
    cells: tuple[tuple[int, int], ...] = ()
    """A notebook's code cells: (cell number as the student sees it, line of its `# --- cell N ---`
    header in `source`), in order; empty for a Python file. Kept apart from the source, so that a
    comment that looks like a header is never taken for one."""

    def location(self, line: int) -> str:
        """Where line `line` of `source` is, in the student's terms: "cell 3, line 4" in a notebook,
        "line 47" otherwise. For errors the sandbox reports against the combined module."""
        before = [(number, header) for number, header in self.cells if header < line]
        if not before:
            return f"line {line}"
        number, header = before[-1]
        return f"cell {number}, line {line - header}"

    def student_traceback(self, text: str) -> str:
        """A traceback from the sandbox with each frame of the combined module named as the student
        knows it ("  cell 7, line 3, in build_lenet5") and its code line taken from `source` (what
        the student wrote, not what the sandbox claims); other frames stay as they are."""
        lines = text.split("\n")
        source = self.source.split("\n")
        kept: list[str] = []
        index = 0
        while index < len(lines):
            frame = _OWN_FRAME.fullmatch(lines[index])
            index += 1
            if not frame:
                kept.append(lines[index - 1])
                continue
            line = int(frame[1])
            kept.append(f"  {self.location(line)}, in {frame[2]}")
            if index < len(lines) and lines[index].startswith("    "):
                index += 1  # the sandbox's copy of the code line, replaced by ours
            code = source[line - 1].strip() if 0 < line <= len(source) else ""
            if code:
                kept.append("    " + code.removeprefix("pass  " + SKIPPED_MARK))
        return "\n".join(kept)


def location(source: str, line: int) -> str:
    """Where line `line` of a module is: after which cell header, or only its number. For a
    notebook being read, before its Submission (and that Submission's cells) exists."""
    lines = source.split("\n")
    for index in range(min(line, len(lines) + 1) - 2, -1, -1):
        header = _CELL_HEADER_LINE.fullmatch(lines[index])
        if header:
            return f"cell {header[1]}, line {line - 1 - index}"
    return f"line {line}"


def missing_functions(submission: Submission, expected: Sequence[str]) -> list[str]:
    """The names in `expected` that the module does not bind at the top level, in the order given.

    Any top-level binding counts (`def`, `class`, `build_model = make_model`, an import), since
    a check only needs to find a callable under that name.
    """
    return [name for name in dict.fromkeys(expected) if name not in submission.top_level_names]


def write_for_sandbox(submission: Submission, directory: Path, module_name: str = "submission") -> Path:
    """Writes the source as `directory/<module_name>.py` (UTF-8, "\\n" line ends) and returns its path."""
    if not module_name.isidentifier():
        raise ValueError(
            f"Expected a Python module name for module_name. Received module_name={module_name!r}."
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{module_name}.py"
    target.write_text(submission.source, encoding="utf-8", newline="\n")
    return target
