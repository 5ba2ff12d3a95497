"""The resource limits of one sandbox run: one frozen object, validated when made."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one sandbox run may use before it is stopped or refused."""

    wall_seconds: float = 60.0
    """Wall-clock limit of one run, measured by the grader; past it the run is killed ("timeout")."""
    memory_bytes: int = 4 * 2**30
    """Address space of each process (RLIMIT_AS, not applied when a GPU is passed through, since
    CUDA reserves huge virtual ranges) and resident memory of the whole sandbox (the watchdog)."""
    max_processes: int = 256
    """Processes and threads the sandbox user may have at once (RLIMIT_NPROC)."""
    output_bytes: int = 2**20
    """Captured stdout+stderr kept (its start and its last few KiB); the rest is read and dropped."""
    file_bytes: int = 256 * 2**20
    """Largest single file the sandbox may write (RLIMIT_FSIZE)."""
    tmp_bytes: int = 512 * 2**20
    """Size of the sandbox's private /tmp, and separately of its /dev/shm (tmpfs --size)."""

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            wants_int = field.type in (int, "int")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (wants_int and not isinstance(value, int)):
                kind = "an integer" if wants_int else "a number"
                raise TypeError(f"Expected {kind}. Received {field.name}={value!r}.")
            if not value > 0:  # also rejects NaN
                raise ValueError(f"Expected a strictly positive value. Received {field.name}={value!r}.")
            if not math.isfinite(value):
                raise ValueError(f"Expected a finite value. Received {field.name}={value!r}.")

    def replace(self, **changes) -> "Limits":
        """A copy with some limits changed, validated like a new one."""
        return dataclasses.replace(self, **changes)
