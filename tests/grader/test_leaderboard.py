"""Accuracy leaderboards (grader/leaderboard.py): the bootstrap interval against a known case, ranks and ties,
which half ranks the board when."""

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from grader.leaderboard import (
    BoardEntry,
    accuracy_board,
    board_part,
    bootstrap_interval,
    part_caption,
    part_counts,
)

DUE = datetime(2026, 12, 15, 23, 59, tzinfo=timezone(timedelta(hours=8)))
TOLERANCE = 0.001
"""Between two bootstraps of 10,000 resamples that draw differently: two steps of 1/2000 (the spread of
a 2.5% quantile estimate is about 0.0001 here, the accuracies lie on a grid of 0.0005)."""


def explicit_bootstrap(correct: int, total: int, level: float, resamples: int, seed: int) -> tuple[float, float]:
    """The textbook percentile bootstrap: resample the 0/1 outcomes with replacement, take the quantiles."""
    outcomes = np.arange(total) < correct
    rng = np.random.default_rng(seed)
    means = np.concatenate([outcomes[rng.integers(0, total, (1000, total))].mean(axis=1)
                            for _ in range(resamples // 1000)])
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


@pytest.mark.parametrize("correct, total, level", [(1931, 2000, 0.95), (968, 1000, 0.95), (1931, 2000, 0.8),
                                                   (45, 50, 0.95)])
def test_the_interval_matches_an_explicit_resample_of_the_outcomes(correct, total, level):
    got = bootstrap_interval(correct, total, level=level, resamples=10_000, seed=3)
    expected = explicit_bootstrap(correct, total, level, 10_000, seed=3)
    tolerance = max(TOLERANCE, 2 / total)  # small totals: two steps of their coarser grid
    assert got == pytest.approx(expected, abs=tolerance)


def test_the_interval_of_a_known_case_matches_the_normal_approximation():
    n, p = 2000, 0.9655
    half_width = 1.96 * math.sqrt(p * (1 - p) / n)
    low, high = bootstrap_interval(round(p * n), n)
    assert (low, high) == pytest.approx((p - half_width, p + half_width), abs=0.003)  # 0.3 points
    assert low < p < high


@pytest.mark.parametrize("correct, total, interval", [(0, 2000, (0.0, 0.0)), (2000, 2000, (1.0, 1.0)),
                                                      (1, 1, (1.0, 1.0))])
def test_all_wrong_or_all_right_has_no_spread(correct, total, interval):
    assert bootstrap_interval(correct, total) == interval


def test_the_interval_is_a_function_of_the_counts():
    assert bootstrap_interval(1931, 2000) == bootstrap_interval(1931, 2000, seed=0)
    narrow, wide = bootstrap_interval(1931, 2000, level=0.5), bootstrap_interval(1931, 2000)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


@pytest.mark.parametrize("args, kwargs, fragment", [
    ((5, 0), {}, "Received correct=5, total=0"),
    ((-1, 10), {}, "Received correct=-1, total=10"),
    ((11, 10), {}, "Received correct=11, total=10"),
    ((5, 10), {"level": 1.0}, "Received level=1.0"),
    ((5, 10), {"level": 0}, "Received level=0"),
    ((5, 10), {"resamples": 0}, "Received resamples=0"),
])
def test_impossible_arguments_are_refused(args, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        bootstrap_interval(*args, **kwargs)


def entry(pseudonym: str, public: int, private: int | None = None, size: int = 1000, submission_id: int = 1):
    """An entry whose public half has `public` of `size` right and its private half `private` (default: the same)."""
    private = public if private is None else private
    return BoardEntry(pseudonym, submission_id, {"correct": public + private, "total": 2 * size,
                                                 "public_correct": public, "public_total": size})


def board(entries, part="public"):
    return [(row.rank, row.pseudonym, row.tied) for row in accuracy_board(entries, part)]


@pytest.mark.parametrize("counts, expected", [
    # Far apart: three ranks, no ties.
    ({"ana": 990, "bo": 940, "cy": 880}, [(1, "ana", False), (2, "bo", False), (3, "cy", False)]),
    # 99.0% [98.3, 99.6] and 98.5% [97.7, 99.2] overlap; 90.0% [88.1, 91.8] lies below both.
    ({"ana": 990, "bo": 985, "cy": 900}, [(1, "ana", True), (1, "bo", True), (3, "cy", False)]),
    # Overlap is not transitive: 97.0% [95.9, 98.0] lies wholly above 94.0% [92.5, 95.4], 95.5% [94.2, 96.8]
    # overlaps both, so the last is second and alone there.
    ({"ana": 970, "bo": 955, "cy": 940}, [(1, "ana", True), (1, "bo", True), (2, "cy", False)]),
    # The same counts: the same interval, order by pseudonym.
    ({"zed": 960, "amy": 960, "max": 960}, [(1, "amy", True), (1, "max", True), (1, "zed", True)]),
    ({"solo": 500}, [(1, "solo", False)]),
    ({}, []),
])
def test_ranks_count_the_rows_wholly_above(counts, expected):
    assert board([entry(name, correct) for name, correct in counts.items()]) == expected


def test_a_row_carries_the_accuracy_its_interval_and_counts():
    [row] = accuracy_board([entry("ana", 968, 963, submission_id=7)], "public")
    assert (row.accuracy, row.correct, row.total, row.submission_id) == (0.968, 968, 1000, 7)
    assert (row.low, row.high) == bootstrap_interval(968, 1000)


@pytest.mark.parametrize("part, expected", [
    ("public", [(1, "ana", False), (2, "bo", False)]),
    ("private", [(1, "bo", False), (2, "ana", False)]),
    ("all", [(1, "ana", True), (1, "bo", True)]),
])
def test_each_part_ranks_on_its_own_half(part, expected):
    """ana leads on the public half, bo on the private one; together (1,880 vs 1,880) they tie."""
    assert board([entry("ana", 990, 890), entry("bo", 890, 990)], part) == expected


def test_the_private_half_is_the_total_less_the_public_one():
    measures = {"correct": 1931, "total": 2000, "public_correct": 968, "public_total": 1000}
    assert [part_counts(measures, part) for part in ("public", "private", "all")] == [(968, 1000), (963, 1000),
                                                                                     (1931, 2000)]


@pytest.mark.parametrize("measures, on_public, on_all", [
    (None, False, False),                                  # graded before checks reported measures
    ({"correct": 1900, "total": 2000}, False, True),       # graded without the split secrets
    ({"correct": 1900, "total": 2000, "public_correct": 950, "public_total": 1000}, True, True),
    ({"correct": "1900", "total": 2000}, False, False),
    ({"correct": True, "total": 2000}, False, False),
    ({"correct": 3, "total": 0}, False, False),
    ({"correct": 1900, "total": 2000, "public_correct": 1950, "public_total": 1000}, False, True),
])
def test_entries_whose_measures_do_not_give_the_part_are_left_out(measures, on_public, on_all):
    entries = [BoardEntry("ana", 1, measures), entry("bo", 900)]
    assert ("ana" in [row.pseudonym for row in accuracy_board(entries, "public")]) == on_public
    assert ("ana" in [row.pseudonym for row in accuracy_board(entries, "all")]) == on_all


def test_an_unknown_part_is_refused():
    with pytest.raises(ValueError, match="Received part='hidden'"):
        accuracy_board([entry("ana", 900)], "hidden")
    with pytest.raises(ValueError, match="Received part='hidden'"):
        part_caption("hidden")


@pytest.mark.parametrize("due, now, part", [
    (None, DUE, "all"),
    (DUE, DUE - timedelta(days=3), "public"),
    (DUE, DUE - timedelta(seconds=1), "public"),
    (DUE, DUE, "private"),
    (DUE, DUE + timedelta(days=1), "private"),
    (DUE, datetime(2026, 12, 15, 15, 58, tzinfo=timezone.utc), "public"),  # 23:58 in UTC+8
])
def test_the_public_half_ranks_until_the_due_date(due, now, part):
    assert board_part(due, now) == part


@pytest.mark.parametrize("part, words", [("public", "public half"), ("private", "private half"),
                                         ("all", "all of the hidden")])
def test_each_part_has_a_caption_for_the_site(part, words):
    caption = part_caption(part)
    assert words in caption and "\n" not in caption and caption.endswith(".")
