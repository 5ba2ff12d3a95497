"""How the grader writes ranks, sizes, scores, statuses and durations, the same in the CLI, the site and exports."""

# Standard library only: the submission reader's child process (grader/submission/isolated.py)
# writes sizes with it, and that child imports nothing of the grader's heavier modules.

from __future__ import annotations

import math
from collections.abc import Sequence

STATUS_WORDS = {
    "queued": "waiting for a grader",
    "grading": "running in the sandbox",
    "done": "graded",
    "error": "the grader failed (not a zero: the course staff will look at it)",
}
"""A submission's status in words, for students."""

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def ranks(values: Sequence[float | None], *, higher_is_better: bool = True) -> list[int | None]:
    """Competition ranks, "1, 2, 2, 4": equal values share a rank, and the next rank counts them all.

    None (not graded) gets no rank. Every board and table ranks with this, so a tie never splits.
    """
    known = [value for value in values if value is not None]
    ordered = sorted(known, reverse=higher_is_better)
    first = {}
    for position, value in enumerate(ordered, 1):
        first.setdefault(value, position)
    return [None if value is None else first[value] for value in values]


def size_text(size: int) -> str:
    """Binary units everywhere: 100 -> "100 bytes", 1536 -> "1.5 KiB", 5 * 2**20 -> "5 MiB",
    536870912 -> "512 MiB", 4.5 * 2**30 -> "4.5 GiB"."""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    value, unit = float(size), ""
    for unit in _UNITS:
        value /= 1024
        if value < 1024:
            break
    # One decimal below 10 (5.3 MiB against a 5 MiB limit must not read "5 MiB"), none when exact.
    if value >= 10 or value == int(value):
        return f"{value:.0f} {unit}"
    return f"{value:.1f} {unit}"


def score_text(score: float | None, maximum: float | None) -> str:
    """"12.5/20", or "no score" for a submission not graded yet or failed by the grader."""
    if score is None or maximum is None or (isinstance(score, float) and math.isnan(score)):
        return "no score"
    return f"{score:g}/{maximum:g}"


def points_text(points: float) -> str:
    """"12.5", "20": points without trailing zeros."""
    return f"{points:g}"


def percent_text(fraction: float | None, decimals: int = 1) -> str:
    """0.96551 -> "96.6%"; None -> "-"."""
    if fraction is None:
        return "-"
    return f"{fraction * 100:.{decimals}f}%"


def status_text(status: str) -> str:
    """The status word and what it means: "queued (waiting for a grader)"."""
    return f"{status} ({STATUS_WORDS[status]})" if status in STATUS_WORDS else status


def duration_text(seconds: float) -> str:
    """45 -> "45 s", 150 -> "2 min 30 s", 3600 -> "1 h", 97200 -> "1 day 3 h": the two largest units."""
    seconds = round(seconds)
    units = (("day", 86400), ("h", 3600), ("min", 60), ("s", 1))
    for index, (name, length) in enumerate(units):
        if seconds >= length or length == 1:
            break
    amounts = [(name, length) for name, length in units[index:index + 2]]
    parts = []
    for name, length in amounts:
        amount, seconds = divmod(seconds, length)
        if amount or not parts:
            parts.append(f"{amount} {name}{'s' if name == 'day' and amount != 1 else ''}")
    return " ".join(parts)


def plural(number: int, noun: str) -> str:
    """plural(1, "file") -> "1 file", plural(3, "file") -> "3 files"."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def check_changes(before: Sequence, after: Sequence) -> list[str]:
    """What changed between two gradings' checks (CheckResult-like: name, points, max_points), in
    the later grading's order: "accuracy: 6.5 -> 8", "new check x: 2/3", "check y is gone (was 1/2)"."""
    earlier = {check.name: check for check in before}
    changes = []
    for check in after:
        old = earlier.pop(check.name, None)
        if old is None:
            changes.append(f"new check {check.name}: {score_text(check.points, check.max_points)}")
        elif (old.points, old.max_points) != (check.points, check.max_points):
            changes.append(f"{check.name}: {points_text(old.points)} -> {score_text(check.points, check.max_points)}")
    changes += [f"check {old.name} is gone (was {score_text(old.points, old.max_points)})" for old in earlier.values()]
    return changes
