"""Jupyter notebooks: their code cells as one module, with IPython lines skipped in place."""

from __future__ import annotations

import io
import json
import re
import tokenize

from grader.submission.python_file import Code, compile_only, decode, describe_syntax_error, parse, reading_code
from grader.submission.record import CELL_HEADER, SKIPPED_MARK, SubmissionError, location
from grader.submission.wording import count, shown

NOTES_LISTED = 5  # skipped notebook lines named one by one before "and N more"
_AGAIN = "Open it in Jupyter, save it and upload it again."

# IPython syntax that is not Python, each when it starts a statement. Help is a bare (dotted)
# name with ? or ?? before or after it; the assignment forms are `files = !ls` and `t = %time f()`.
_HELP = re.compile(r"\s*(\?{1,2}\s*[\w.*]+|[\w.*]+\s*\?{1,2})\s*")
_ASSIGNED_ESCAPE = re.compile(r"\s*[A-Za-z_][\w.]*(\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[!%]")
# A "\ud800" escape in the JSON, which no editor writes, gives a string that UTF-8 cannot encode:
# the module could not be written for the sandbox.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def read_notebook(data: bytes, name: str) -> Code:
    """A notebook as a module; `name` is its path as the student knows it, already safe to show.

    Cells are numbered as the student sees them from the top, markdown cells included. Each
    IPython line becomes `pass  # skipped by the grader: ...` at its own indentation, valid even
    as the only line of a block, and a cell magic's cell becomes comments, so line N of a cell
    stays N lines after that cell's header in the combined module.
    """
    cells = _notebook_cells(data, name)
    code_cells = [(number, text) for number, (kind, text) in enumerate(cells, start=1) if kind == "code"]
    code_cells, replaced_in = _without_lone_surrogates(code_cells)
    cells_read: list[tuple[int, list[str]]] = []
    skipped_lines: list[str] = []
    skipped_cells: list[str] = []
    has_code = False
    for number, text in code_cells:
        cell_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        _refuse_nul(cell_lines, number, name)
        first = next((line.strip() for line in cell_lines if line.strip()), "")
        if first.startswith("%%"):
            kept = [SKIPPED_MARK + line if line.strip() else "" for line in cell_lines]
            code_lines = sum(1 for line in cell_lines if line.strip()) - 1
            skipped_cells.append(
                f"Skipped cell {number} entirely: it starts with the cell magic `{shown(first, 60)}`, "
                f"so the grader, which runs plain Python, did not run its {count(code_lines, 'other line')}. "
                "Move code you want graded (a function, an import) into a cell without a %% line."
            )
        else:
            kept, skipped = _skip_ipython_lines(cell_lines)
            skipped_lines += [
                f"cell {number} line {line} `{shown(cell_lines[line - 1].strip(), 60)}`" for line in skipped
            ]
            left = [line.strip() for line in _without(cell_lines, skipped)]
            has_code = has_code or any(line and not line.startswith("#") for line in left)
        cells_read.append((number, kept))

    if not has_code:
        what = "it has no code cells"
        if code_cells:
            what = f"none of its {count(len(code_cells), 'code cell')} holds Python code"
        if skipped_cells:
            what += " outside cells that start with a %% cell magic, which the grader skips"
        raise SubmissionError(f"{name} is empty: {what}. Did you save the notebook before uploading?")
    lines = [line for number, kept in cells_read for line in (CELL_HEADER.format(number), *kept)]
    headers, line = [], 1
    for number, kept in cells_read:
        headers.append((number, line))
        line += 1 + len(kept)
    source = "\n".join(lines) + "\n"
    try:
        tree = parse(source)
    except SyntaxError as error:
        for number, kept in cells_read:
            _check_cell_syntax(kept, number, name)
        # Every cell compiles on its own, as in Jupyter: a late `from __future__` import, say.
        where = location(source, error.lineno or 1)
        description = describe_syntax_error(error, source, rename_line=lambda line: location(source, line))
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
            f"Skipped {count(len(skipped_lines), 'notebook line')} that are IPython magics, "
            f"shell commands or help lookups (the grader runs plain Python): {listed}{more}."
        )
    notes.extend(skipped_cells)
    if replaced_in:
        cells_named = ", ".join(str(number) for number in replaced_in[:NOTES_LISTED])
        more = f" and {len(replaced_in) - NOTES_LISTED} more" if len(replaced_in) > NOTES_LISTED else ""
        notes.append(
            f"Replaced characters that are not valid Unicode (lone surrogates such as \\ud800 in the "
            f"notebook file) with U+FFFD in {'cell' if len(replaced_in) == 1 else 'cells'} {cells_named}{more}. "
            "If your code needs them, retype those characters in Jupyter and save the notebook again."
        )
    return Code(source, f"notebook {name} ({count(len(code_cells), 'code cell')})", tuple(notes), tree,
                tuple(headers))


def _notebook_cells(data: bytes, name: str) -> list[tuple[str, str]]:
    """(cell type, source) for each cell, or SubmissionError saying what is wrong with the file."""
    text = decode(data)
    if text is None:
        raise SubmissionError(f"{name} is not a valid notebook: it is not UTF-8 text. {_AGAIN}")
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise SubmissionError(
            f"{name} is not a valid notebook: its JSON is broken at line {error.lineno} ({error.msg}). "
            f"Was it edited by hand or uploaded before Jupyter finished saving? {_AGAIN}"
        ) from error
    except RecursionError as error:
        raise SubmissionError(
            f"{name} is not a valid notebook: its JSON nests lists or objects thousands deep, "
            f"which Jupyter never writes. {_AGAIN}"
        ) from error
    except ValueError as error:  # Python refuses to read integers of more than 4,300 digits
        raise SubmissionError(
            f"{name} is not a valid notebook: its JSON holds a number thousands of digits long, "
            f"which Jupyter never writes. {_AGAIN}"
        ) from error
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        if isinstance(notebook, dict) and "worksheets" in notebook:
            version = notebook.get("nbformat", 3)
            version = version if type(version) is int and 0 <= version < 100 else 3
            raise SubmissionError(
                f"{name} is in the old notebook format {version}. "
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
            raise SubmissionError(f"{name} is not a valid notebook: cell {number} has no readable source. {_AGAIN}")
        cells.append((cell.get("cell_type", ""), source))
    return cells


def _without_lone_surrogates(cells: list[tuple[int, str]]) -> tuple[list[tuple[int, str]], list[int]]:
    """The cells with each lone surrogate replaced by U+FFFD, and the numbers of the cells that had one."""
    replaced = [number for number, text in cells if _LONE_SURROGATE.search(text)]
    if not replaced:
        return cells, []
    return [(number, _LONE_SURROGATE.sub("\ufffd", text)) for number, text in cells], replaced


def _refuse_nul(lines: list[str], number: int, name: str) -> None:
    # A "\u0000" in the JSON: Python refuses the whole module, and its error names no line.
    for line_number, line in enumerate(lines, start=1):
        if "\0" in line:
            raise SubmissionError(
                f"Cell {number}, line {line_number} of {name} holds a NUL character (\\u0000 in the "
                "notebook file), which Python code cannot contain. Delete that character in Jupyter, "
                "save the notebook and upload it again."
            )


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
        with reading_code():
            compile_only(cell)
    except SyntaxError as error:
        description = describe_syntax_error(error, cell, rename_line=lambda line: f"line {line} of the cell")
        raise SubmissionError(
            f"Syntax error in cell {number}, line {error.lineno}: {description} "
            f"The grader could not read your notebook {name}; run that cell in Jupyter to see the error."
        ) from error
