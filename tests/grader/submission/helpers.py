"""What the tests of grader.submission share: the fixtures, notebooks made to order, and what a message must be."""

import json
import re
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "submissions"
ZIPPED_SOLUTION = '"""Homework 3, zipped on a Mac."""\n\n\ndef build_model():\n    return None\n'


def assert_for_student(text: str) -> None:
    """One line of plain text, no traceback, no exception name, no control character."""
    assert "\n" not in text and "Traceback" not in text, text
    assert not re.search(r"[A-Z]\w*Error\b", text), f"an exception name leaked into the message: {text}"
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]", text), f"a control character got through: {text!r}"


def write_notebook(path: Path, cells: list[str | tuple[str, str]]) -> Path:
    """A notebook whose cells are code, or (cell type, source) for the others; sources as Jupyter stores them."""
    cells = [cell if isinstance(cell, tuple) else ("code", cell) for cell in cells]
    notebook = {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True)}
            | ({"execution_count": None, "outputs": []} if kind == "code" else {})
            for kind, text in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))
    return path


# Generated code that CPython reads slowly or with much memory, each repeated to fill the size limit:
# compiling many functions is quadratic, and each `f(1)` statement is five syntax-tree objects.
PATHOLOGICAL = {
    "slow": "def f():\n    return 1\n",
    "big": "f(1)\n",
}


def write_pathological(path: Path, kind: str, size: int = 5 * 2**20 - 1024) -> Path:
    unit = PATHOLOGICAL[kind]
    path.write_text(unit * (size // len(unit)))
    return path
