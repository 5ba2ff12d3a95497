"""Machine-wide leases of what sandboxes must not share: their uid, their CPU cores, their GPU slots.

Each lease is an flock on a file of its own in /run/lock: it holds across every grader process on
the machine (a worker, a grade-all, a test run) and ends with the process that held it, however it
dies, so a killed grader never leaves a core or a uid taken.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SANDBOX_UID_BASE = 61000
"""When the grader is root, a run prefers uid SANDBOX_UID_BASE + its slot (and the same gid), a user
that owns nothing on the host, so RLIMIT_NPROC, signals, cgroups and clean-up never mix between runs."""
UID_POOL = 1000  # sandbox uids SANDBOX_UID_BASE .. + 999, leased one per concurrent run
GPU_SLOTS = 8
"""Sandboxes one GPU can hold at once: a run asking for a share of s takes ceil(s * GPU_SLOTS) slots."""
_POLL_SECONDS = 0.05


def lock_dir() -> Path:
    return Path("/run/lock") if os.access("/run/lock", os.W_OK) else Path(tempfile.gettempdir())


def _try_lock(name: str) -> IO | None:
    """The open lock file, held, or None when another holder has it."""
    handle = open(lock_dir() / f"cnn-grader-{name}.lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


@contextlib.contextmanager
def leased_uid(preferred: int, on_lease=None) -> Iterator[int]:
    """A sandbox uid that no other run on this machine holds, the preferred one if it is free.

    Slots only order the runs of one process; a worker and a `grade-all` side by side would
    otherwise share a uid, and each one's clean-up, which kills every process of its uid, would
    kill the other's sandbox. `on_lease(uid)` runs once the lease is held, before the uid is
    handed out: holding the lock, nothing of ours uses this uid, so whatever does (an orphan of a
    grader killed while bwrap was still setting up, its cgroup, its scratch mount) is left over.
    """
    for offset in range(UID_POOL):
        uid = SANDBOX_UID_BASE + (preferred - SANDBOX_UID_BASE + offset) % UID_POOL
        handle = _try_lock(f"sandbox-{uid}")
        if handle is None:
            continue
        try:
            if on_lease is not None:
                on_lease(uid)
            yield uid
        finally:
            handle.close()  # closing the file releases the lock
        return
    raise RuntimeError(f"All {UID_POOL} sandbox uids are in use on this machine.")


@dataclass(frozen=True)
class Allotment:
    """What one run was given."""

    cores: tuple[int, ...]
    """The CPU cores it runs on, alone among sandboxes."""
    gpu: int | None
    """The GPU device (its minor number, /dev/nvidiaN) it may use, or None."""
    gpu_slots: int
    """How many of that GPU's GPU_SLOTS it holds."""
    queued_seconds: float
    """How long it waited for them."""


@contextlib.contextmanager
def allotted(cpus: int, pool: Sequence[int], gpu_share: float = 0.0,
             gpus: Sequence[int] = ()) -> Iterator[Allotment]:
    """Waits until `cpus` cores of `pool` (and a `gpu_share` of one of `gpus`) are free on the whole
    machine, then holds them for the block.

    All or nothing, first come first served: a waiter takes the allocation lock and keeps it while
    it waits, so two runs that each need both cores of a 2-core machine never hold one each
    (deadlock), and a run that needs two cores is not overtaken forever by runs that need one.
    A request for more cores than the pool has gets the whole pool.
    """
    want = max(1, min(cpus, len(pool)))
    slots = math.ceil(gpu_share * GPU_SLOTS - 1e-9) if gpu_share > 0 and gpus else 0
    started = time.monotonic()
    held: list[IO] = []
    try:
        with open(lock_dir() / "cnn-grader-allocate.lock", "a") as queue:
            fcntl.flock(queue, fcntl.LOCK_EX)  # the head of the line; released when the block below ends
            while True:
                cores, core_locks = _take(want, [f"core-{core}" for core in pool], pool)
                gpu, gpu_locks = _take_gpu(slots, gpus) if cores else (None, [])
                if cores and (not slots or gpu is not None):
                    held = core_locks + gpu_locks
                    break
                for handle in core_locks + gpu_locks:
                    handle.close()
                time.sleep(_POLL_SECONDS)
        yield Allotment(tuple(cores), gpu, slots if gpu is not None else 0, time.monotonic() - started)
    finally:
        for handle in held:
            handle.close()


def _take(count: int, names: list[str], values: Sequence) -> tuple[list, list[IO]]:
    """`count` of `values` whose lock files could be taken now (the lowest first), or ([], [])."""
    taken, handles = [], []
    for name, value in zip(names, values):
        handle = _try_lock(name)
        if handle is None:
            continue
        taken.append(value)
        handles.append(handle)
        if len(taken) == count:
            return taken, handles
    for handle in handles:
        handle.close()
    return [], []


def _take_gpu(slots: int, gpus: Sequence[int]) -> tuple[int | None, list[IO]]:
    if not slots:
        return None, []
    for gpu in gpus:
        taken, handles = _take(slots, [f"gpu-{gpu}-{slot}" for slot in range(GPU_SLOTS)], range(GPU_SLOTS))
        if taken:
            return gpu, handles
    return None, []
