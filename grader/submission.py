"""Reads what a student uploaded (.py, notebook, folder or zip) into one Python module, without running it."""

from __future__ import annotations

import ast
import difflib
import hashlib
import io
import json
import os
import re
import stat
import threading
import tokenize
import warnings
import zipfile
import zlib
from collections.abc import Sequence
import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

MAX_SUBMISSION_BYTES = 5 * 2**20  # default size limit (the caller may pass another)
MAX_ENTRIES = 1000  # files in a folder or entries in a zip; a homework needs a handful
CODE_SUFFIXES = (".py", ".ipynb")
# Tried in this order when a folder holds several code files and none stands out.
PREFERRED_NAMES = ("submission.py", "solution.py")
# Editors, Jupyter and macOS leave these next to the student's work; they are never graded.
JUNK_NAMES = frozenset({"__pycache__", "__MACOSX"})
NOTES_LISTED = 5  # skipped notebook lines named one by one before "and N more"

CELL_HEADER = "# --- cell {} ---"
_CELL_HEADER_LINE = re.compile(r"# --- cell (\d+) ---")
SKIPPED_MARK = "# skipped by the grader: "


@dataclass(frozen=True)
class Submission:
    """A student's code as one Python module, and what the student should know about how it was read."""

    source: str
    """The Python code to run, as one module. A notebook's code cells appear in order, each
    after a `# --- cell N ---` line; a skipped IPython line stays on its own line as
    `pass  # skipped by the grader: ...`, so every line keeps its place in its cell."""
    origin: str
    """What was submitted, in words: "hw.py", "notebook hw.ipynb (12 code cells)",
    "zip hw.zip -> hw3/solution.py"."""
    notes: tuple[str, ...]
    """For the student's feedback: what the loader skipped or chose, and functions it expected
    but did not find."""
    content_hash: str
    """SHA-256 (hex) of the submitted bytes: the file or the zip as uploaded, or for a folder a
    hash over each file's relative path and bytes, so a re-run can skip unchanged work."""

    def defined_functions(self) -> set[str]:
        """Names of the functions defined at the top level of the module (see `_module_level`)."""
        return {
            node.name
            for node in _module_level(self._tree.body)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }

    def imported_modules(self) -> set[str]:
        """Top-level packages imported anywhere outside a main guard: `import x.y` and
        `from x.y import z` give x, and so do `__import__("x.y")` and
        `importlib.import_module("x.y")` with a literal name."""
        found = set()
        # Code under `if __name__ == "__main__":` never runs when the grader imports the file,
        # so a student comparing against scipy there is not using it.
        graded = [node for node in self._tree.body
                  if not (isinstance(node, ast.If) and _is_main_guard(node.test))]
        for node in (inner for top in graded for inner in ast.walk(top)):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
                name = node.args[0]
                literal = name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else ""
                if literal and not literal.startswith("."):
                    found.add(literal.split(".")[0])
        return found

    def location(self, line: int) -> str:
        """Where line `line` of `source` is, in the student's terms: "cell 3, line 4" in a notebook,
        "line 47" otherwise. For errors the sandbox reports against the combined module."""
        return _location(self.source, line)

    @cached_property
    def _tree(self) -> ast.Module:
        with _reading_code():
            return ast.parse(self.source)

    def _top_level_names(self) -> set[str]:
        """Every name the module binds at the top level: functions, classes, assignments, imports."""
        names = set()
        for node in _module_level(self._tree.body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(_bound_names(targets))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        return names


class SubmissionError(Exception):
    """The submission cannot be graded at all; str(error) is the message for the student."""


def load_submission(
    path: Path, *, max_bytes: int = MAX_SUBMISSION_BYTES, expected_functions: Sequence[str] = ()
) -> Submission:
    """Reads a .py file, a notebook, a folder or a zip into one module; raises SubmissionError when it cannot.

    A folder or zip must hold its code file at the top level or, when the top level has no code
    and one subfolder, in that subfolder (`zip -r hw3.zip hw3` and macOS make zips like that).
    Folders follow the same rule, so unzipping never changes what gets graded.

    Functions in `expected_functions` that are missing only add a note: they cost the checks
    that need them, not the whole grade.
    """
    path = Path(path)
    if not path.exists():
        raise SubmissionError(
            f"No file or folder named {path.name} was found: nothing was uploaded, or the upload did not finish."
        )
    if path.is_dir():
        submission = _load_folder(path, max_bytes)
    elif path.is_file():
        suffix = path.suffix.lower()
        if suffix not in (*CODE_SUFFIXES, ".zip"):
            got = f"got {suffix}" if suffix else "got a file with no extension"
            raise SubmissionError(
                f"{path.name} is not a Python file, notebook or zip ({got}). "
                "Upload your code as a .py file or a Jupyter notebook (.ipynb), or a .zip holding one."
            )
        data = _read_file(path, max_bytes)
        if suffix == ".zip":
            submission = _load_zip(data, path.name, max_bytes)
        else:
            source, origin, notes = _read_code(data, path.name)
            submission = Submission(source, origin, notes, hashlib.sha256(data).hexdigest())
    else:
        raise SubmissionError(f"{path.name} is not a regular file or folder, so the grader cannot read it.")

    missing = _missing_function_notes(submission, expected_functions)
    return dataclasses.replace(submission, notes=submission.notes + missing)


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


def missing_functions(submission: Submission, expected: Sequence[str]) -> list[str]:
    """The names in `expected` that the module does not bind at the top level, in the order given.

    Any top-level binding counts (`def`, `class`, `build_model = make_model`, an import), since
    a check only needs to find a callable under that name.
    """
    names = submission._top_level_names()
    return [name for name in dict.fromkeys(expected) if name not in names]


# --- single files -----------------------------------------------------------------------------


def _read_file(path: Path, max_bytes: int) -> bytes:
    size = path.stat().st_size
    if size > max_bytes:
        raise SubmissionError(
            f"{path.name} is {_size(size)}; the limit is {_size(max_bytes)}. "
            f"{_TOO_BIG_HINT}"
        )
    with path.open("rb") as file:
        # The file may grow between stat and read; never hold more than the limit.
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SubmissionError(f"{path.name} is over {_size(max_bytes)}, the limit. {_TOO_BIG_HINT}")
    return data


_TOO_BIG_HINT = (
    "Submit only your code: leave out data sets, saved models and notebook outputs with large images."
)


def _read_code(data: bytes, name: str) -> tuple[str, str, tuple[str, ...]]:
    """(source, origin, notes) of a .py or .ipynb file; `name` is its path as the student knows it."""
    if name.lower().endswith(".ipynb"):
        return _read_notebook(data, name)
    return _read_python(data, name), name, ()


def _decode(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    # NUL is valid UTF-8 but never in a text file; Python refuses it in source too.
    if "\0" in text:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_python(data: bytes, name: str) -> str:
    source = _decode(data)
    if source is None:
        raise SubmissionError(
            f"{name} is not a UTF-8 text file: a Python file was expected "
            "(did you upload a .pyc, a .docx or an image?)"
        )
    command = f"run `python {PurePosixPath(name).name}` locally to see the error"
    try:
        with _reading_code():
            _compile(source)
            tree = ast.parse(source)
    except SyntaxError as error:
        where = f" on line {error.lineno}" if error.lineno else ""
        raise SubmissionError(
            f"Syntax error{where}: {_describe_syntax_error(error, source)} "
            f"The grader could not read your file; {command}."
        ) from error
    if not tree.body:
        raise SubmissionError(
            f"{name} is empty: it holds no Python code, only blank lines or comments. "
            "Did you save it before uploading?"
        )
    return source if source.endswith("\n") else source + "\n"


def _compile(source: str) -> None:
    """Compiles (and never runs) the code: this finds the errors that ast.parse lets through,
    like `return` outside a function or a `from __future__` import after other code."""
    # dont_inherit: this file's own `from __future__ import annotations` is not the student's.
    compile(source, "<submission>", "exec", dont_inherit=True)


_PARSER_LOCK = threading.Lock()


@contextmanager
def _reading_code():
    """Keeps SyntaxWarnings (e.g. "\\d" in a regex) out of the grader's log, and turns code nested
    too deeply for the parser into a message for the student."""
    try:
        # One parse at a time: CPython 3.11.7's parser fails ("AST constructor recursion depth
        # mismatch", gh-106905) when threads parse at once, as grade-all and worker threads do,
        # and warnings.catch_warnings is not thread-safe either.
        with _PARSER_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except (RecursionError, MemoryError) as error:
        raise SubmissionError(
            "Your code is nested too deeply for the grader to read (an expression or block inside "
            "hundreds of others). Split it into smaller pieces."
        ) from error


def _describe_syntax_error(error: SyntaxError, source: str, rename_line=lambda line: f"line {line}") -> str:
    """Python's message as a sentence, with the offending line quoted."""
    message = re.sub(r"\bline (\d+)", lambda match: rename_line(int(match[1])), error.msg or "invalid syntax")
    # Errors found by the compiler rather than the parser come without the line's text.
    lines = source.split("\n")
    text = lines[error.lineno - 1].strip() if error.lineno and 0 < error.lineno <= len(lines) else ""
    if len(text) > 100:
        text = text[:100] + "..."
    quoted = f" The line reads `{text}`." if text else ""
    return f"{message.rstrip('.')}.{quoted}"


# --- notebooks --------------------------------------------------------------------------------

# IPython syntax that is not Python, each when it starts a statement. Help is a bare (dotted)
# name with ? or ?? before or after it; the assignment forms are `files = !ls` and `t = %time f()`.
_HELP = re.compile(r"\s*(\?{1,2}\s*[\w.*]+|[\w.*]+\s*\?{1,2})\s*")
_ASSIGNED_ESCAPE = re.compile(r"\s*[A-Za-z_][\w.]*(\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[!%]")


def _read_notebook(data: bytes, name: str) -> tuple[str, str, tuple[str, ...]]:
    """(source, origin, notes) of a notebook.

    Cells are numbered as the student sees them from the top, markdown cells included. Each
    IPython line becomes `pass  # skipped by the grader: ...` at its own indentation, valid even
    as the only line of a block, and a cell magic's cell becomes comments, so line N of a cell
    stays N lines after that cell's header in the combined module.
    """
    cells = _notebook_cells(data, name)
    code_cells = [(number, text) for number, (kind, text) in enumerate(cells, start=1) if kind == "code"]
    cells_read: list[tuple[int, list[str]]] = []
    skipped_lines: list[str] = []
    skipped_cells: list[str] = []
    has_code = False
    for number, text in code_cells:
        cell_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        first = next((line.strip() for line in cell_lines if line.strip()), "")
        if first.startswith("%%"):
            kept = [SKIPPED_MARK + line if line.strip() else "" for line in cell_lines]
            code_lines = sum(1 for line in cell_lines if line.strip()) - 1
            skipped_cells.append(
                f"Skipped cell {number} entirely: it starts with the cell magic `{_short(first)}`, "
                f"so the grader, which runs plain Python, did not run its {_count(code_lines, 'other line')}. "
                "Move code you want graded (a function, an import) into a cell without a %% line."
            )
        else:
            kept, skipped = _skip_ipython_lines(cell_lines)
            skipped_lines += [
                f"cell {number} line {line} `{_short(cell_lines[line - 1].strip())}`" for line in skipped
            ]
            left = [line.strip() for line in _without(cell_lines, skipped)]
            has_code = has_code or any(line and not line.startswith("#") for line in left)
        cells_read.append((number, kept))

    if not has_code:
        what = "it has no code cells"
        if code_cells:
            what = f"none of its {_count(len(code_cells), 'code cell')} holds Python code"
        if skipped_cells:
            what += " outside cells that start with a %% cell magic, which the grader skips"
        raise SubmissionError(f"{name} is empty: {what}. Did you save the notebook before uploading?")
    lines = [line for number, kept in cells_read for line in (CELL_HEADER.format(number), *kept)]
    source = "\n".join(lines) + "\n"
    try:
        with _reading_code():
            _compile(source)
    except SyntaxError as error:
        for number, kept in cells_read:
            _check_cell_syntax(kept, number, name)
        # Every cell compiles on its own, as in Jupyter: a late `from __future__` import, say.
        where = _location(source, error.lineno or 1)
        description = _describe_syntax_error(error, source, rename_line=lambda line: _location(source, line))
        raise SubmissionError(
            f"Syntax error in {where}: {description} "
            f"The grader runs all the cells of {name} as one Python file, where this is an error even though "
            "each cell runs on its own in Jupyter."
        ) from error

    notes = []
    if skipped_lines:
        listed = ", ".join(skipped_lines[:NOTES_LISTED])
        more = f", and {len(skipped_lines) - NOTES_LISTED} more" if len(skipped_lines) > NOTES_LISTED else ""
        notes.append(
            f"Skipped {_count(len(skipped_lines), 'notebook line')} that are IPython magics, "
            f"shell commands or help lookups (the grader runs plain Python): {listed}{more}."
        )
    notes.extend(skipped_cells)
    return source, f"notebook {name} ({_count(len(code_cells), 'code cell')})", tuple(notes)


def _notebook_cells(data: bytes, name: str) -> list[tuple[str, str]]:
    """(cell type, source) for each cell, or SubmissionError saying what is wrong with the file."""
    text = _decode(data)
    if text is None:
        raise SubmissionError(
            f"{name} is not a valid notebook: it is not UTF-8 text. "
            "Open it in Jupyter, save it and upload it again."
        )
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise SubmissionError(
            f"{name} is not a valid notebook: its JSON is broken at line {error.lineno} ({error.msg}). "
            "Was it edited by hand or uploaded before Jupyter finished saving? "
            "Open it in Jupyter, save it and upload it again."
        ) from error
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        if isinstance(notebook, dict) and "worksheets" in notebook:
            raise SubmissionError(
                f"{name} is in the old notebook format {notebook.get('nbformat', 3)}. "
                "Open it in a current Jupyter and save it, which converts it to format 4, "
                "then upload it again."
            )
        raise SubmissionError(
            f"{name} is JSON but not a Jupyter notebook (it has no list of cells). "
            "Upload the .ipynb file that Jupyter saved."
        )
    cells = []
    for number, cell in enumerate(notebook["cells"], start=1):
        source = cell.get("source", "") if isinstance(cell, dict) else None
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise SubmissionError(
                f"{name} is not a valid notebook: cell {number} has no readable source. "
                "Open it in Jupyter, save it and upload it again."
            )
        cells.append((cell.get("cell_type", ""), source))
    return cells


def _skip_ipython_lines(lines: list[str]) -> tuple[list[str], list[int]]:
    """The cell's lines with each IPython line replaced, and the numbers (from 1) of those lines.

    A line counts only where a statement starts: `!= b` and `% n` are Python when they continue a
    line (PEP 8 breaks before operators), and a docstring may hold a line "%d items". Python's
    tokenizer pulls the lines one at a time, so each line is judged by the tokens before it, in
    one pass over the cell.
    """
    if not any(_looks_like_ipython(line) for line in lines):
        return lines, []  # most cells: no need to tokenize
    kept: list[str] = []
    skipped: list[int] = []
    last_token: int | None = tokenize.NEWLINE  # the cell starts a statement
    depth = 0  # brackets open

    def next_line() -> str:
        nonlocal last_token
        if len(kept) == len(lines):
            return ""
        line = lines[len(kept)]
        if last_token in (tokenize.NEWLINE, tokenize.NL) and depth == 0 and _looks_like_ipython(line):
            skipped.append(len(kept) + 1)
            line = f"{line[: len(line) - len(line.lstrip())]}pass  {SKIPPED_MARK}{line.strip()}"
        kept.append(line)
        # Stays None while the tokenizer is inside a multi-line string.
        last_token = None
        return line + "\n"

    try:
        for token in tokenize.generate_tokens(next_line):
            if token.type == tokenize.OP and token.string in "([{":
                depth += 1
            elif token.type == tokenize.OP and token.string in ")]}":
                depth = max(depth - 1, 0)
            last_token = token.type
    except (tokenize.TokenError, SyntaxError):
        pass  # an unclosed bracket or bad indentation: the parser reports it, with its line
    return kept + lines[len(kept):], skipped


def _without(lines: list[str], numbers: list[int]) -> list[str]:
    """`lines` less those numbered (from 1) in `numbers`."""
    dropped = set(numbers)
    return [line for number, line in enumerate(lines, start=1) if number not in dropped]


def _looks_like_ipython(line: str) -> bool:
    stripped = line.strip()
    if stripped.startswith(("%", "!")):
        return True
    if _HELP.fullmatch(line) or _ASSIGNED_ESCAPE.match(line):
        return True
    # `get_ipython().run_line_magic(...)`, as jupytext and nbconvert write magics, or `ip = get_ipython()`,
    # when the statement ends on this line. A block header (`if get_ipython():`) stays: blanking it
    # would orphan its body.
    return "get_ipython(" in stripped and not stripped.endswith(":") and _ends_on_its_line(stripped)


def _ends_on_its_line(statement: str) -> bool:
    try:
        for _ in tokenize.generate_tokens(io.StringIO(statement + "\n").readline):
            pass
    except (tokenize.TokenError, SyntaxError):
        return False
    return True


def _check_cell_syntax(lines: list[str], number: int, name: str) -> None:
    """Compiles one cell alone, as Jupyter does, so that an error is blamed on the cell that has it."""
    cell = "\n".join(lines) + "\n"
    try:
        with _reading_code():
            _compile(cell)
    except SyntaxError as error:
        description = _describe_syntax_error(error, cell, rename_line=lambda line: f"line {line} of the cell")
        raise SubmissionError(
            f"Syntax error in cell {number}, line {error.lineno}: {description} "
            f"The grader could not read your notebook {name}; run that cell in Jupyter to see the error."
        ) from error


# --- folders and zips -------------------------------------------------------------------------


def _load_folder(root: Path, max_bytes: int) -> Submission:
    files = _walk_folder(root, max_bytes)
    chosen, notes = _choose(sorted(files), root.name)
    digest = hashlib.sha256()
    for relative in sorted(files):
        data = files[relative].read_bytes()
        # Length-prefixed, so that moving bytes between a path and its contents changes the hash.
        encoded = relative.encode("utf-8", "surrogateescape")
        digest.update(len(encoded).to_bytes(8, "big") + encoded + len(data).to_bytes(8, "big") + data)
    source, origin, code_notes = _read_code(files[chosen].read_bytes(), chosen)
    return Submission(source, f"folder {root.name} -> {origin}", notes + code_notes, digest.hexdigest())


def _walk_folder(root: Path, max_bytes: int) -> dict[str, Path]:
    """Relative POSIX path -> file, for every file that is not junk, with the limits a zip has."""
    files: dict[str, Path] = {}
    entries = total = 0
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(name for name in subdirectories if not _is_junk(name))
        for name in sorted(names) + subdirectories:
            if _is_junk(name):
                continue
            entries += 1
            if entries > MAX_ENTRIES:
                raise SubmissionError(
                    f"{root.name} holds more than {MAX_ENTRIES} files and folders. "
                    "Submit only your code, not a whole project or data set."
                )
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise SubmissionError(
                    f"{root.name} contains a symbolic link ({relative}); the grader reads only real files. "
                    "Copy the file in instead."
                )
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                raise SubmissionError(
                    f"{root.name} contains {relative}, which is not a regular file. "
                    "Submit only your code files."
                )
            total += path.lstat().st_size
            if total > max_bytes:
                raise SubmissionError(
                    f"{root.name} holds more than {_size(max_bytes)}, the limit. "
                    f"{_TOO_BIG_HINT}"
                )
            files[relative] = path
    return files


def _load_zip(data: bytes, name: str, max_bytes: int) -> Submission:
    """Reads the zip in memory: nothing is extracted, so no entry can land outside the grader's folders."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise SubmissionError(
            f"{name} is not a valid zip file: it may be damaged or only partly uploaded. "
            "Make the zip again and upload it."
        ) from error
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
            if entry.startswith("/") or re.match(r"[A-Za-z]:", entry) or ".." in parts:
                raise SubmissionError(
                    f"{name} contains a path outside itself: {entry}. "
                    "Zip your folder again with your system's ordinary zip tool, "
                    "or upload the .py or .ipynb file on its own."
                )
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SubmissionError(
                    f"{name} contains a symbolic link ({entry}); the grader reads only real files. "
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
            raise SubmissionError(
                f"{name} unpacks to {_size(total)}; the limit is {_size(max_bytes)}. "
                f"{_TOO_BIG_HINT}"
            )
        chosen, notes = _choose(sorted(files), name)
        try:
            with archive.open(files[chosen]) as member:
                # The sizes above are the zip's own claims; read no more than the limit whatever they say.
                content = member.read(max_bytes + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
            raise SubmissionError(
                f"{name} is damaged or uses a compression the grader cannot read ({chosen}). "
                "Make the zip again with your system's zip tool."
            ) from error
        if len(content) > max_bytes:
            raise SubmissionError(
                f"{name} unpacks to more than {_size(max_bytes)}, the limit. "
                f"{_TOO_BIG_HINT}"
            )
    source, origin, code_notes = _read_code(content, chosen)
    return Submission(source, f"zip {name} -> {origin}", notes + code_notes, hashlib.sha256(data).hexdigest())


def _is_junk(name: str) -> bool:
    return name.startswith(".") or name in JUNK_NAMES


def _choose(paths: list[str], container: str) -> tuple[str, tuple[str, ...]]:
    """The one code file to grade among `paths` (sorted, relative, junk removed) and a note on any left out.

    The rule: exactly one .py; else exactly one .ipynb and no .py; else submission.py, then
    solution.py; else exactly one .ipynb beside several .py files. A file named solution.py
    outranks a lone notebook because the student chose that name for the grader.
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
            f"{container} has {_count(len(code), 'code file')} ({_listing(code)}) "
            "and the grader cannot tell which one to grade. "
            "Submit a single .py or .ipynb file, or name the file to grade solution.py."
        )
    else:
        found = f"found: {_listing(paths)}" if paths else "it is empty"
        if any(path.lower().endswith(".zip") for path in paths):
            found += "; zips inside a zip or folder are not opened"
        raise SubmissionError(
            f"{container} has no .py or .ipynb file at its top level ({found}). "
            "Put your code file at the top level of the folder or zip, "
            "or upload the .py or .ipynb file on its own."
        )
    others = [path for path in code if path != chosen]
    note = (
        (f"Graded {chosen} and left out the other code next to it ({_listing(others)}): "
         f"everything the grader needs must be in {PurePosixPath(chosen).name}.",)
        if others
        else ()
    )
    return chosen, note


# --- small helpers ----------------------------------------------------------------------------


def _module_level(body: list[ast.stmt]):
    """The statements that run when the module is imported, through `if`, `try` and `with` blocks.

    A `def` under `try:` or `if USE_GPU:` is still a module attribute after import; one under
    `if __name__ == "__main__":` is not, and checks reach the student's functions by importing.
    """
    for node in body:
        yield node
        if isinstance(node, ast.If) and not _is_main_guard(node.test):
            yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, (ast.Try, ast.TryStar)):
            handlers = [handler.body for handler in node.handlers]
            for block in (node.body, *handlers, node.orelse, node.finalbody):
                yield from _module_level(block)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            yield from _module_level(node.body)


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(value, ast.Constant) and value.value == "__main__" for value in test.comparators)
    )


def _bound_names(targets: list[ast.expr]) -> set[str]:
    names = set()
    for target in targets:
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            names.update(_bound_names(target.elts))
        elif isinstance(target, ast.Starred):
            names.update(_bound_names([target.value]))
    return names


def _is_dynamic_import(func: ast.expr) -> bool:
    """`__import__`, `importlib.import_module`, `importlib.__import__`, or `import_module` imported bare."""
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return (
        isinstance(func, ast.Attribute)
        and func.attr in ("import_module", "__import__")
        and isinstance(func.value, ast.Name)
        and func.value.id == "importlib"
    )


def _missing_function_notes(submission: Submission, expected: Sequence[str]) -> tuple[str, ...]:
    missing = missing_functions(submission, expected)
    if not missing:
        return ()
    top_level = submission._top_level_names()
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    anywhere = {node.name for node in ast.walk(submission._tree) if isinstance(node, functions)}
    notes = []
    for name in missing:
        note = f"Your code does not define `{name}` at the top level, so the checks that call it score zero."
        if name in anywhere:
            note += (
                f" There is a `def {name}` inside another block (a function, a class or "
                '`if __name__ == "__main__":`); move it to the left margin so that the grader can call it.'
            )
        elif close := difflib.get_close_matches(name, sorted(top_level), n=1):
            note += f" Did you mean `{close[0]}`? The name must match exactly."
        notes.append(note)
    return tuple(notes)


def _location(source: str, line: int) -> str:
    lines = source.split("\n")
    for index in range(min(line, len(lines) + 1) - 2, -1, -1):
        header = _CELL_HEADER_LINE.fullmatch(lines[index])
        if header:
            return f"cell {header[1]}, line {line - 1 - index}"
    return f"line {line}"


def _size(size: int) -> str:
    if size >= 2**20:
        return f"{size / 2**20:.1f} MB"
    if size >= 2**10:
        return f"{size / 2**10:.1f} KB"
    return f"{size} bytes"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _listing(paths: list[str], shown: int = 8) -> str:
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
