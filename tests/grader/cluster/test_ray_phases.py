"""What a Ray worker killed mid-phase leaves on its node: found by the next phase there."""

import os

import pytest

pytest.importorskip("ray")
from grader.cluster.ray_phases import leftover_folders  # noqa: E402
from grader.sandbox.processes import start_time  # noqa: E402


def test_the_folders_of_workers_that_no_longer_run_are_leftovers(tmp_path):
    mine = tmp_path / f"ray-phase-{os.getpid()}-{start_time(os.getpid())}-abc"
    reused = tmp_path / f"ray-phase-{os.getpid()}-1-abc"  # this pid, but another process's start time
    dead = tmp_path / "ray-phase-4194304-77-abc"  # above the kernel's largest pid
    other = tmp_path / "ray-phase-notapid-1-abc"
    for folder in (mine, reused, dead, other):
        folder.mkdir()
    assert sorted(leftover_folders(tmp_path)) == sorted([reused, dead])
