"""The host's process table as the sandbox supervisor sees it, and the sweep that ends a sandbox's processes."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# A killed fork bomb may still be forking while it is swept; each round kills what it finds.
_SWEEP_ROUNDS = 200


@dataclass
class Process:
    """What the supervisor needs to know of one process, from /proc/<pid>/status."""

    pid: int
    """Its pid on the host."""
    ppid: int
    """Its parent's pid."""
    session: int
    """Its session id on the host."""
    uid: int
    """Its real uid."""
    rss_bytes: int
    """Its resident set (pages shared with other processes are counted in each)."""
    alive: bool
    """False for zombies, which hold no memory and cannot be killed again."""


def processes() -> list[Process]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as status_file:
                text = status_file.read().decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while the list was read
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if "PPid" not in fields or "Uid" not in fields:
            continue
        session = fields.get("NSsid", "0").split()
        found.append(Process(
            pid=int(name),
            ppid=int(fields["PPid"]),
            session=int(session[0]) if session else 0,
            uid=int(fields["Uid"].split()[0]),
            rss_bytes=int(fields.get("VmRSS", "0 kB").split()[0]) * 1024,
            alive=fields.get("State", "R").strip()[:1] not in ("Z", "X"),
        ))
    return found


def sandbox_processes(root_pid: int, sandbox_uid: int | None, members: Iterable[int] = ()) -> list[Process]:
    """The live descendants of `root_pid`, the members of its session, every process of `sandbox_uid`,
    and the pids in `members` (its cgroup's), `root_pid` itself excluded."""
    table = processes()
    children: dict[int, list[Process]] = {}
    for process in table:
        children.setdefault(process.ppid, []).append(process)
    listed = set(members)
    chosen = {p.pid: p for p in table
              if p.session == root_pid or p.pid in listed or (sandbox_uid is not None and p.uid == sandbox_uid)}
    stack = [root_pid]
    while stack:
        for child in children.get(stack.pop(), []):
            chosen[child.pid] = child
            stack.append(child.pid)
    chosen.pop(root_pid, None)
    return [p for p in chosen.values() if p.alive]


def record_cpu(running: list[Process], seen: dict[tuple[int, int], float]) -> None:
    """Notes each process's user+system seconds so far, keyed by (pid, start time) against pid reuse."""
    for process in running:
        try:
            with open(f"/proc/{process.pid}/stat", "rb") as stat_file:
                fields = stat_file.read().rsplit(b")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # Fields after the command name, counted from 0 at the state: utime 11, stime 12, starttime 19.
        seen[(process.pid, int(fields[19]))] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            return int(stat_file.read().rsplit(b")", 1)[1].split()[19])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def sweep(find: Callable[[], list[Process]]) -> None:
    """Kills what `find` lists until it lists nothing (a fork bomb may fork while it is swept)."""
    left: list[Process] = []
    for _ in range(_SWEEP_ROUNDS):
        left = find()
        if not left:
            return
        for process in left:
            kill(process.pid)
        time.sleep(0.005)
    log.error("sandbox processes survived %d rounds of SIGKILL: %s", _SWEEP_ROUNDS, [p.pid for p in left])
