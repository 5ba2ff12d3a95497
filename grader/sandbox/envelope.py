"""The resource envelope of one sandbox run: what it may use, declared by the phase, validated when made."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

@dataclass(frozen=True)
class Envelope:
    """What one sandbox run may use before it is stopped; each limit is enforced by the kernel where
    it can be (see grader/sandbox/README section in the project README)."""

    seconds: float = 60.0
    """The time budget: seconds of work on `cpus` cores, measured as CPU time (user + system of
    every process of the run) against `seconds * cpus`. Time spent waiting for cores is not counted,
    and neither is what other runs do: the same work gets the same verdict alone or beside others."""
    cpus: int = 1
    """Cores given to the run alone (a cpuset): no other sandbox runs on them meanwhile, and the
    frameworks inside size their thread pools to them."""
    memory_bytes: int = 4 * 2**30
    """Everything the run holds in memory: its processes, the pages of its /tmp, /dev/shm and /out,
    memfd and shared memory, and the kernel memory it causes (a memory cgroup)."""
    gpu: float = 0.0
    """The share of one GPU the run asks for: 0 none, 1 a whole device, 0.25 a quarter of one
    (its memory and a quarter of the device's sandbox slots). Without a GPU on the machine the
    run computes on its CPU cores."""
    max_processes: int = 256
    """Processes and threads the run may have at once (a pids cgroup, and RLIMIT_NPROC)."""
    output_bytes: int = 2**20
    """Captured stdout+stderr kept (its start and its last few KiB); the rest is read and dropped."""
    file_bytes: int = 256 * 2**20
    """Largest single file the run may write (RLIMIT_FSIZE)."""
    disk_bytes: int = 512 * 2**20
    """Size of the run's private /tmp (shared with its /dev/shm), and separately of its /out: each is
    a file system of its own, so open-but-unlinked files count."""
    disk_files: int = 16384
    """Files and folders each of those file systems can hold (inodes)."""
    wall_factor: float = 2.0
    """The wall-clock safety cap is `wall_factor * seconds + wall_margin_seconds`: it only stops code
    that waits (sleeps, blocks on input, deadlocks) instead of computing."""
    wall_margin_seconds: float = 10.0
    """Added to the cap, so that a phase with a budget of a few seconds still gets to start Python."""

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            wants_int = field.type in (int, "int")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (wants_int and not isinstance(value, int)):
                kind = "an integer" if wants_int else "a number"
                raise TypeError(f"Expected {kind}. Received {field.name}={value!r}.")
            if not math.isfinite(value):
                raise ValueError(f"Expected a finite value. Received {field.name}={value!r}.")
            if field.name == "gpu":
                if not 0 <= value <= 1:
                    raise ValueError(f"Expected a GPU share between 0 and 1. Received gpu={value!r}.")
            elif not value > 0:
                raise ValueError(f"Expected a strictly positive value. Received {field.name}={value!r}.")

    @property
    def cpu_seconds(self) -> float:
        """The time budget as CPU time: `seconds` on each of `cpus` cores."""
        return self.seconds * self.cpus

    def wall_cap_seconds(self, cores_given: int) -> float:
        """The wall-clock safety cap when the run got `cores_given` cores (fewer than `cpus` only on a
        machine that has fewer): long enough for the whole budget at the rate those cores allow."""
        stretch = self.cpus / max(1, min(cores_given, self.cpus))
        return self.wall_factor * self.seconds * stretch + self.wall_margin_seconds

    def replace(self, **changes) -> "Envelope":
        """A copy with the given limits changed (None values ignored), validated like a new one."""
        return dataclasses.replace(self, **{name: value for name, value in changes.items() if value is not None})


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes in "4G", "512M", "1.5GiB", "300000" (binary units: K = 1024)."""
    match = _SIZE.fullmatch(text)
    if not match:
        raise ValueError(f"Expected a size such as 4G, 512M or 1.5GiB. Received {text!r}.")
    number, unit = float(match[1]), match[2].lower()
    size = int(number * 1024 ** " kmgt".index(unit or " "))
    if size <= 0:
        raise ValueError(f"Expected a strictly positive size. Received {text!r}.")
    return size

