"""The envelope's values: validated when made, the CPU budget and the wall-clock cap they imply."""

import pytest

from grader.sandbox.envelope import Envelope, parse_size


@pytest.mark.parametrize("changes, error", [
    ({"seconds": 0}, "Expected a strictly positive value. Received seconds=0."),
    ({"memory_bytes": -1}, "Expected a strictly positive value. Received memory_bytes=-1."),
    ({"seconds": float("inf")}, "Expected a finite value. Received seconds=inf."),
    ({"seconds": float("nan")}, "Expected a finite value. Received seconds=nan."),
    ({"output_bytes": 1.5}, "Expected an integer. Received output_bytes=1.5."),
    ({"cpus": True}, "Expected an integer. Received cpus=True."),
    ({"cpus": 0}, "Expected a strictly positive value. Received cpus=0."),
    ({"gpu": 1.5}, "Expected a GPU share between 0 and 1. Received gpu=1.5."),
    ({"gpu": -0.1}, "Expected a GPU share between 0 and 1. Received gpu=-0.1."),
    ({"disk_files": "many"}, "Expected an integer. Received disk_files='many'."),
])
def test_every_value_is_checked(changes, error):
    with pytest.raises((ValueError, TypeError)) as raised:
        Envelope().replace(**changes)
    assert str(raised.value) == error


def test_replace_ignores_none_so_unset_overrides_keep_the_declaration():
    declared = Envelope(seconds=240, cpus=2)
    assert declared.replace(seconds=None, cpus=None, memory_bytes=2**30) == Envelope(seconds=240, cpus=2,
                                                                                       memory_bytes=2**30)


def test_the_budget_is_seconds_on_each_core_and_the_cap_leaves_room_for_all_of_it():
    adder = Envelope(seconds=240, cpus=2)
    assert adder.cpu_seconds == 480
    assert adder.wall_cap_seconds(cores_given=2) == 2 * 240 + 10
    # On a one-core machine the same work takes twice as long; the cap stretches, the budget does not.
    assert adder.wall_cap_seconds(cores_given=1) == 2 * 480 + 10
    assert Envelope(seconds=3, wall_factor=1.0, wall_margin_seconds=1.0).wall_cap_seconds(1) == 4


@pytest.mark.parametrize("text, size", [
    ("4G", 4 * 2**30), ("512M", 512 * 2**20), ("1.5GiB", 3 * 2**29), ("300000", 300000), ("64k", 65536),
    ("2 gb", 2 * 2**30), ("1T", 2**40),
])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1G", "0", "4X", "1.5.2G"])
def test_parse_size_refuses_what_is_not_a_size(text):
    with pytest.raises(ValueError, match="Expected"):
        parse_size(text)

