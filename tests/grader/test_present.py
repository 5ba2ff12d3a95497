"""What every view shows: ranks with shared ties, sizes in one unit system, scores, durations."""

import pytest

from grader.present import duration_text, percent_text, plural, ranks, score_text, size_text, status_text


@pytest.mark.parametrize("values, expected", [
    ([], []),
    ([10.0], [1]),
    ([30.0, 20.0, 20.0, 10.0], [1, 2, 2, 4]),
    ([20.0, 30.0, 20.0], [2, 1, 2]),
    ([5.0, None, 5.0], [1, None, 1]),
    ([None, None], [None, None]),
])
def test_ties_share_a_rank_and_the_next_rank_counts_them(values, expected):
    assert ranks(values) == expected


def test_lower_is_better_ranks_the_smallest_first():
    assert ranks([3.0, 1.0, 1.0, 2.0], higher_is_better=False) == [4, 1, 1, 3]


@pytest.mark.parametrize("size, shown", [
    (0, "0 bytes"), (1, "1 byte"), (100, "100 bytes"), (1023, "1023 bytes"),
    (1024, "1 KiB"), (1536, "1.5 KiB"), (64 * 2**10, "64 KiB"),
    (5 * 2**20, "5 MiB"), (int(5.3 * 2**20), "5.3 MiB"), (512 * 2**20, "512 MiB"),
    (4 * 2**30, "4 GiB"), (int(4.5 * 2**30), "4.5 GiB"), (3 * 2**40, "3 TiB"),
])
def test_sizes_are_in_binary_units(size, shown):
    assert size_text(size) == shown


@pytest.mark.parametrize("score, maximum, shown", [
    (12.5, 20, "12.5/20"), (20.0, 20.0, "20/20"), (0.0, 15, "0/15"),
    (None, 20, "no score"), (12.0, None, "no score"), (float("nan"), 20, "no score"),
])
def test_score_text(score, maximum, shown):
    assert score_text(score, maximum) == shown


@pytest.mark.parametrize("seconds, shown", [
    (0, "0 s"), (45, "45 s"), (150, "2 min 30 s"), (3600, "1 h"), (3660, "1 h 1 min"),
    (97200, "1 day 3 h"), (3 * 86400 + 59, "3 days"),
])
def test_duration_text_keeps_the_two_largest_units(seconds, shown):
    assert duration_text(seconds) == shown


def test_words():
    assert percent_text(0.96551) == "96.6%"
    assert percent_text(None) == "-"
    assert status_text("queued") == "queued (waiting for a grader)"
    assert plural(1, "file") == "1 file" and plural(1200, "file") == "1,200 files"
