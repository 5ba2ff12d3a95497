"""Starts a launch, watches it against its envelope every 0.1 s, ends it, and captures its output."""

from __future__ import annotations

import os
import select
import signal
import stat
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grader.sandbox import processes, scratch
from grader.sandbox.cgroups import Cgroup
from grader.sandbox.envelope import Envelope
from grader.sandbox.launch import Launch
from grader.text import safe_bytes

Status = Literal["ok", "exited", "timeout", "memory", "disk", "signalled"]

POLL_SECONDS = 0.1
_TAIL_BYTES = 4096
_DISK_BLOCK = 4096  # the least an entry in a watched host folder is counted as (see _over_disk_budget)
# After the sandbox is dead, how long to wait for the end of its output (only an escaped process
# of the weak rlimits mode can keep the pipe open longer).
_OUTPUT_GRACE_SECONDS = 2.0


@dataclass
class Watch:
    """What the supervisor checks the run against."""

    envelope: Envelope
    wall_cap_seconds: float
    cgroup: Cgroup | None = None
    """The run's cgroup: its CPU time, memory events and processes; None in the weak mode."""
    mounts: dict[str, Path] = field(default_factory=dict)
    """Size-limited file systems of the run by the name the sandbox knows them ("/tmp", "/out")."""
    folders: dict[str, Path] = field(default_factory=dict)
    """Writable host folders that are not such file systems, walked against envelope.disk_bytes."""


@dataclass
class Outcome:
    """How the run ended, as the supervisor saw it."""

    status: Status
    exit_code: int | None
    output: str
    output_truncated: bool
    wall_seconds: float
    cpu_seconds: float
    time_limit: Literal["cpu", "wall"] | None = None
    disk_full: str | None = None
    memory_peak_bytes: int | None = None


def supervise(launch: Launch, watch: Watch) -> Outcome:
    start = time.monotonic()
    try:
        process = subprocess.Popen(
            launch.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=launch.env, cwd=launch.cwd, start_new_session=True, pass_fds=launch.pass_fds)
    finally:
        for fd in launch.pass_fds:
            os.close(fd)
    capture = OutputCapture(process.stdout.fileno(), watch.envelope.output_bytes)

    # Waits without reaping: until the first process is reaped its pid (and so its session id)
    # cannot be reused, so the clean-up below cannot hit an unrelated process.
    exited = threading.Event()
    threading.Thread(target=lambda: (os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT), exited.set()),
                     name="sandbox-wait", daemon=True).start()

    def members() -> list[processes.Process]:
        inside = watch.cgroup.pids() if watch.cgroup is not None else ()
        return processes.sandbox_processes(process.pid, launch.sandbox_uid, inside)

    reason: Status | None = None
    time_limit = disk_full = None
    cpu_seen: dict[tuple[int, int], float] = {}
    deadline = start + watch.wall_cap_seconds
    while not exited.wait(max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))):
        # A cgroup counts CPU time and memory itself; only without one is the process table read.
        running = members() if watch.cgroup is None else []
        processes.record_cpu(running, cpu_seen)
        if time.monotonic() >= deadline:
            reason, time_limit = "timeout", "wall"
        elif _cpu_seconds(watch, cpu_seen) >= watch.envelope.cpu_seconds:
            reason, time_limit = "timeout", "cpu"
        elif _out_of_memory(watch, running):
            reason = "memory"
        elif disk_full := _full_disk(watch):
            reason = "disk"
        if reason is not None:
            break
    if reason is not None:
        processes.kill(process.pid)  # with bwrap this ends its pid namespace, and so every process in it
    if watch.cgroup is not None:
        watch.cgroup.kill()
    processes.sweep(members)
    exited.wait()
    processes.sweep(members)
    _, wait_status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(wait_status)
    wall_seconds = time.monotonic() - start
    output, truncated = capture.finish(_OUTPUT_GRACE_SECONDS)
    process.stdout.close()

    # A run can end before the loop sees it hit a limit: the kernel's out-of-memory kill of its
    # first process, or code that stops at its first ENOSPC.
    if reason is None and watch.cgroup is not None and watch.cgroup.oom_kills() > 0:
        reason = "memory"
    elif reason is None and (disk_full := _full_disk(watch)):
        reason = "disk"
    code = process.returncode
    if reason is not None:
        status, exit_code = reason, None
    elif code < 0:
        status, exit_code = "signalled", code
    elif launch.bwrap_exit_codes and code > 128 and code - 128 in signal.valid_signals():
        status, exit_code = "signalled", -(code - 128)
    else:
        status, exit_code = ("ok" if code == 0 else "exited"), code
    counted = watch.cgroup.cpu_seconds() if watch.cgroup is not None else None
    return Outcome(
        status=status, exit_code=exit_code, output=output, output_truncated=truncated, wall_seconds=wall_seconds,
        cpu_seconds=counted if counted is not None else max(usage.ru_utime + usage.ru_stime, sum(cpu_seen.values())),
        time_limit=time_limit, disk_full=disk_full,
        memory_peak_bytes=watch.cgroup.memory_peak() if watch.cgroup is not None else None,
    )


def _cpu_seconds(watch: Watch, seen: dict[tuple[int, int], float]) -> float:
    counted = watch.cgroup.cpu_seconds() if watch.cgroup is not None else None
    # Without a cgroup: the processes seen so far, up to the last look (approximate).
    return counted if counted is not None else sum(seen.values())


def _out_of_memory(watch: Watch, running: list[processes.Process]) -> bool:
    if watch.cgroup is not None and "memory" in watch.cgroup.layout.parents:
        return watch.cgroup.oom_kills() > 0
    return sum(p.rss_bytes for p in running) > watch.envelope.memory_bytes


def _full_disk(watch: Watch) -> str | None:
    for name, mount in watch.mounts.items():
        if scratch.usage(mount).full:
            return name
    for name, folder in watch.folders.items():
        if _over_disk_budget(folder, watch.envelope.disk_bytes):
            return name
    return None


def _over_disk_budget(folder: Path, budget: int) -> bool:
    """Whether the tree under `folder` uses more than `budget` bytes of disk, each entry counted as
    at least one 4 KiB block (so that millions of empty files count too).

    The fallback where no size-limited mount could be made: RLIMIT_FSIZE bounds one file, not how
    many. Iterative, and stops at the budget, so a deep or huge tree costs no more than the
    budget's worth of lstat calls. A tree that cannot be measured (nested past PATH_MAX, or made
    unreadable) counts as over: only an attack builds one. Files unlinked while open are not seen.
    """
    used = 0
    stack = [str(folder)] if os.path.isdir(folder) else []  # a file bind: RLIMIT_FSIZE bounds it
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # removed while it was measured
                    used += max(info.st_blocks * 512, _DISK_BLOCK)
                    if used > budget:
                        return True
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(entry.path)
        except FileNotFoundError:
            continue
        except OSError:
            return True
    return False


class OutputCapture:
    """Reads the sandbox's merged stdout and stderr in a thread, keeping a bounded start and end."""

    def __init__(self, fd: int, limit: int):
        self._fd = fd
        self._limit = limit
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="sandbox-output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN | select.POLLHUP)
        while True:
            if not poller.poll(100):
                if self._stop.is_set():
                    return
                continue
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return
            self._total += len(chunk)
            if len(self._head) < self._limit:
                self._head += chunk[: self._limit - len(self._head)]
            self._tail += chunk
            if len(self._tail) > 2 * _TAIL_BYTES:
                del self._tail[:-_TAIL_BYTES]

    def finish(self, grace_seconds: float) -> tuple[str, bool]:
        """Waits for the end of the output (at most `grace_seconds`), then returns (text, truncated);
        the text is made safe here, where it enters the trusted side (grader.text)."""
        self._thread.join(grace_seconds)
        self._stop.set()
        self._thread.join()
        if self._total <= self._limit:
            return safe_bytes(bytes(self._head)), False
        tail_length = min(_TAIL_BYTES, self._limit // 4)
        # The note's length depends on the count it reports; sized for the largest count, the
        # real note is never longer.
        longest_note = f"\n[... {self._total} bytes of output dropped ...]\n"
        head_length = max(self._limit - tail_length - len(longest_note), 0)
        if head_length == 0:
            return safe_bytes(bytes(self._head)), True
        dropped = self._total - head_length - tail_length
        note = f"\n[... {dropped} bytes of output dropped ...]\n"
        head = safe_bytes(bytes(self._head[:head_length]))
        tail = safe_bytes(bytes(self._tail[-tail_length:])) if tail_length else ""
        return head + note + tail, True
