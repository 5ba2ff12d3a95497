"""Accuracy leaderboards: the accuracy itself with a bootstrap interval, ranked on the public or private half."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np

Part = Literal["public", "private", "all"]
PARTS: tuple[Part, ...] = ("public", "private", "all")
LEVEL = 0.95
RESAMPLES = 10_000

CAPTIONS: dict[Part, str] = {
    "public": "Ranked on the public half of the hidden digits until the due date; after it, the private half decides.",
    "private": "The due date has passed: ranked on the private half of the hidden digits, which the board never showed.",
    "all": "Ranked on all of the hidden digits: with no due date there is no half to hold back.",
}


@functools.lru_cache(maxsize=4096)
def bootstrap_interval(correct: int, total: int, *, level: float = LEVEL, resamples: int = RESAMPLES,
                       seed: int = 0) -> tuple[float, float]:
    """The percentile bootstrap interval of the accuracy correct / total.

    Resampling the n = total right/wrong outcomes with replacement and counting the right ones is
    a Binomial(n, correct / n) draw, so each resample is drawn that way instead of building n
    indices: the same distribution at a cost that does not grow with n. The interval runs from
    the (1 - level) / 2 to the (1 + level) / 2 quantile of the resampled accuracies. A fixed seed
    makes it a function of the counts: a regrade with the same counts gets the same interval.
    """
    if total <= 0 or not 0 <= correct <= total:
        raise ValueError(f"Expected 0 <= correct <= total and total > 0. Received correct={correct}, total={total}.")
    if not 0 < level < 1:
        raise ValueError(f"Expected a level strictly between 0 and 1. Received level={level}.")
    if resamples <= 0:
        raise ValueError(f"Expected a strictly positive number of resamples. Received resamples={resamples}.")
    draws = np.random.default_rng(seed).binomial(total, correct / total, resamples) / total
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


@dataclass(frozen=True)
class BoardEntry:
    """One student's counting submission, as the board reads it."""

    pseudonym: str
    """What the board calls the student; never the real name."""
    submission_id: int
    """The submission whose grading measured these counts."""
    measures: Mapping[str, Any] | None
    """The accuracy check's CheckResult.measures: {"correct", "total", "public_correct",
    "public_total"}; None for a grading made before checks reported measures."""


@dataclass(frozen=True)
class BoardRow:
    """One line of an accuracy board."""

    rank: int
    """1 + the number of rows whose whole interval lies above this row's: overlapping rows share a rank."""
    pseudonym: str
    accuracy: float
    """correct / total on the board's part, a fraction in [0, 1]."""
    low: float
    """The lower end of the 95% bootstrap interval of `accuracy`."""
    high: float
    """Its upper end."""
    tied: bool
    """Another row has the same rank."""
    correct: int
    """Right answers on the board's part of the hidden set."""
    total: int
    """Items in that part."""
    submission_id: int
    """The counting submission the row comes from (for the instructor's view; not for the public board)."""


def part_counts(measures: Mapping[str, Any] | None, part: Part) -> tuple[int, int] | None:
    """(correct, total) on `part` of the hidden set, or None where the measures do not tell it: an
    old grading without measures, or one whose split was unknown (no public counts)."""
    if part not in PARTS:
        raise ValueError(f"Expected a part among {', '.join(PARTS)}. Received part={part!r}.")
    names = ("correct", "total") if part == "all" else ("correct", "total", "public_correct", "public_total")
    if measures is None or not all(_is_count(measures.get(name)) for name in names):
        return None
    correct, total = measures["correct"], measures["total"]
    if part != "all":
        public = measures["public_correct"], measures["public_total"]
        correct, total = public if part == "public" else (correct - public[0], total - public[1])
    return (correct, total) if 0 <= correct <= total and total > 0 else None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def accuracy_board(entries: Iterable[BoardEntry], part: Part) -> list[BoardRow]:
    """The board on `part`: best first, rows that cannot be told apart tied.

    Rows are sorted by rank, then accuracy (highest first), then pseudonym, so that the order is
    stable and a lower rank is never shown above a higher one (with unequal totals a narrower
    interval can rank worse than a less accurate but wider one). Entries whose measures do not
    give `part` are left out.
    """
    counted = [(entry, counts) for entry in entries if (counts := part_counts(entry.measures, part))]
    intervals = [bootstrap_interval(*counts) for _, counts in counted]
    ranks = [1 + sum(other_low > high for other_low, _ in intervals) for _, high in intervals]
    shared = Counter(ranks)
    rows = [BoardRow(rank, entry.pseudonym, correct / total, low, high, shared[rank] > 1, correct, total,
                     entry.submission_id)
            for rank, (entry, (correct, total)), (low, high) in zip(ranks, counted, intervals)]
    return sorted(rows, key=lambda row: (row.rank, -row.accuracy, row.pseudonym))


def board_part(due: datetime | None, now: datetime) -> Part:
    """Which part ranks the board at `now`: "public" before the due date, "private" from it on, and
    "all" when the assignment has no due date (no contest to protect, so the whole hidden set counts)."""
    if due is None:
        return "all"
    return "public" if now < due else "private"


def part_caption(part: Part) -> str:
    """One sentence for the site, under the board, saying what ranks it."""
    if part not in CAPTIONS:
        raise ValueError(f"Expected a part among {', '.join(PARTS)}. Received part={part!r}.")
    return CAPTIONS[part]
