"""How sizes, counts, lists and names from an upload read in the messages a student gets."""

from __future__ import annotations

from grader.text import safe_text

NAME_SHOWN = 120  # characters of a file name or a code line quoted in a message
TOO_BIG_HINT = (
    "Submit only your code: leave out data sets, saved models and notebook outputs with large images."
)


def shown(text: str, width: int = NAME_SHOWN) -> str:
    """A name or a line from the upload as it may appear in a message: on one line, with control
    characters written as escapes, and cut short; a zip member named "\\x1b[2J..." must not clear
    the instructor's terminal."""
    text = safe_text(text).replace("\n", "\\n").replace("\t", "\\t")
    return short(text, width)


def short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def listing(paths: list[str], listed: int = 8) -> str:
    """Up to `listed` paths, shown safely, and how many more there are."""
    more = f" and {len(paths) - listed} more" if len(paths) > listed else ""
    return ", ".join(shown(path) for path in paths[:listed]) + more
