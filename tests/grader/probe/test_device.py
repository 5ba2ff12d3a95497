"""describe_device: the device named in feedback ("Graded on CPU: ..., 1 core")."""

import os

import pytest

pytest.importorskip("keras")

from grader.probe import device  # noqa: E402


@pytest.mark.parametrize("cores, ending", [({0}, ", 1 core"), ({0, 1}, ", 2 cores")])
def test_the_cpu_is_named_with_its_cores(monkeypatch, cores, ending):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cores)
    named = device.describe_device()
    assert named.startswith("CPU: ") and named.endswith(ending)
