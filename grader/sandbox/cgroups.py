"""Control groups for sandboxes, on cgroup v2 or v1 hierarchies, without systemd.

One cgroup per sandbox run holds every process of the run. The kernel then enforces its cores
(cpuset), its memory with everything it causes (memory: page cache, tmpfs and shared memory
pages, kernel objects such as inodes, xattrs and page tables) and its number of processes (pids),
and counts its CPU time (cpuacct on v1, cpu.stat on v2), whatever the processes do.

Modern distributions mount cgroup v2 at /sys/fs/cgroup; others (this project's CI machines among
them) mount one v1 hierarchy per controller under /sys/fs/cgroup beside an empty unified mount.
The grader's cgroups live under a `cnn-grader` folder at the top of each hierarchy it uses.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.envelope import Envelope
from grader.sandbox.processes import kill

log = logging.getLogger(__name__)

PARENT = "cnn-grader"
REQUIRED = ("cpuset", "memory", "pids")
"""Without these, the envelope is weak (the report says so): cores, memory or processes unenforced."""
_V1_CONTROLLERS = (*REQUIRED, "cpuacct", "freezer")
_REMOVE_SECONDS = 5.0  # killed processes leave their cgroup as they exit, a moment after SIGKILL


class CgroupError(Exception):
    """A cgroup could not be made or set up; the run falls back to rlimits, and says so."""


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as error:
        raise CgroupError(f"cannot write {value!r} to {path}: {error.strerror}") from None


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def mounts(mountinfo: str) -> list[tuple[Path, str, set[str]]]:
    """(mount point, file system type, super options) of each line of /proc/self/mountinfo."""
    found = []
    for line in mountinfo.splitlines():
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) >= 5 and len(tail) >= 3:
            point = fields[4].replace("\\040", " ")
            found.append((Path(point), tail[0], set(tail[2].split(","))))
    return found


@dataclass(frozen=True)
class Layout:
    """Where this machine's sandbox cgroups go: the grader's parent folder in each hierarchy used."""

    version: int
    """2 (one unified hierarchy) or 1 (one hierarchy per controller)."""
    parents: dict[str, Path]
    """Controller name -> the `cnn-grader` folder that holds sandbox cgroups (v2: the same folder for all)."""

    @property
    def missing(self) -> tuple[str, ...]:
        """Required controllers this machine does not offer: the weak parts of the envelope."""
        return tuple(name for name in REQUIRED if name not in self.parents)

    def folders(self, name: str) -> list[Path]:
        """The sandbox cgroup `name` in each hierarchy (one folder on v2)."""
        return sorted({parent / name for parent in self.parents.values()})

    def create(self, name: str, cores: tuple[int, ...], envelope: Envelope) -> "Cgroup":
        """A fresh cgroup `name` for one run on `cores`, with the envelope's memory and process limits."""
        self.remove_stale(name)
        cgroup = Cgroup(self, name)
        try:
            for folder in cgroup.folders:
                folder.mkdir()
            if self.version == 2:
                self._set_v2(cgroup.folders[0], cores, envelope)
            else:
                self._set_v1(name, cores, envelope)
        except (OSError, CgroupError) as error:
            cgroup.remove()
            raise CgroupError(f"cannot set up the sandbox's cgroup {name}: {error}") from None
        return cgroup

    def _set_v2(self, folder: Path, cores: tuple[int, ...], envelope: Envelope) -> None:
        if "cpuset" in self.parents:
            _write(folder / "cpuset.cpus", _cpu_list(cores))
        if "memory" in self.parents:
            _write(folder / "memory.max", str(envelope.memory_bytes))
            if (folder / "memory.swap.max").exists():
                _write(folder / "memory.swap.max", "0")
            _write(folder / "memory.oom.group", "1")  # an out-of-memory kill ends the whole run
        if "pids" in self.parents:
            _write(folder / "pids.max", str(envelope.max_processes))

    def _set_v1(self, name: str, cores: tuple[int, ...], envelope: Envelope) -> None:
        if "cpuset" in self.parents:
            folder = self.parents["cpuset"] / name
            # A new v1 cpuset has no cores and no memory nodes; a process cannot join it until both are set.
            _write(folder / "cpuset.mems", _read(self.parents["cpuset"] / "cpuset.mems"))
            _write(folder / "cpuset.cpus", _cpu_list(cores))
        if "memory" in self.parents:
            folder = self.parents["memory"] / name
            _write(folder / "memory.limit_in_bytes", str(envelope.memory_bytes))
            if (folder / "memory.memsw.limit_in_bytes").exists():  # swap accounting is on: no swap either
                _write(folder / "memory.memsw.limit_in_bytes", str(envelope.memory_bytes))
        if "pids" in self.parents:
            _write(self.parents["pids"] / name / "pids.max", str(envelope.max_processes))

    def remove_stale(self, name: str) -> None:
        """Ends and removes what a killed grader left of cgroup `name` (its uid is leased to us now)."""
        stale = Cgroup(self, name)
        if any(folder.exists() for folder in stale.folders):
            log.warning("removing the stale sandbox cgroup %s", name)
            stale.kill()
            stale.remove()


class Cgroup:
    """One run's cgroup: the folder(s) its processes are in, their accounting, and their end."""

    def __init__(self, layout: Layout, name: str):
        self.layout = layout
        self.name = name
        self.folders = layout.folders(name)

    def _file(self, controller: str, name: str) -> Path | None:
        parent = self.layout.parents.get(controller)
        return None if parent is None else parent / self.name / name

    @property
    def procs_files(self) -> list[Path]:
        """Where the launcher writes its own pid before it starts the sandbox."""
        return [folder / "cgroup.procs" for folder in self.folders]

    def pids(self) -> list[int]:
        found: set[int] = set()
        for path in self.procs_files:
            try:
                found.update(int(line) for line in path.read_text().split())
            except (FileNotFoundError, ValueError):
                continue
        return sorted(found)

    def cpu_seconds(self) -> float | None:
        """User+system CPU time of every process that was ever in the cgroup, or None if not counted."""
        try:
            if self.layout.version == 2:
                for line in (self.folders[0] / "cpu.stat").read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "usage_usec":
                        return int(value) / 1e6
                return None
            usage = self._file("cpuacct", "cpuacct.usage")
            return None if usage is None else int(usage.read_text()) / 1e9
        except (OSError, ValueError):
            return None

    def oom_kills(self) -> int:
        """How many processes the kernel killed for the cgroup's memory limit."""
        name = "memory.events" if self.layout.version == 2 else "memory.oom_control"
        path = self._file("memory", name)
        try:
            fields = dict(line.split() for line in path.read_text().splitlines() if len(line.split()) == 2)
        except (AttributeError, OSError, ValueError):
            return 0
        return int(fields.get("oom_kill", 0))

    def memory_peak(self) -> int | None:
        """The most memory the cgroup held at once, in bytes, where the kernel tells it."""
        path = self._file("memory", "memory.peak" if self.layout.version == 2 else "memory.max_usage_in_bytes")
        try:
            return int(path.read_text().split()[0])
        except (AttributeError, OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        """SIGKILLs every process in the cgroup, until none is left."""
        kill_file = self.folders[0] / "cgroup.kill"
        if self.layout.version == 2 and kill_file.exists():
            try:
                kill_file.write_text("1")  # the kernel kills them all at once, forks included
            except OSError:
                pass
        freezer = self._file("freezer", "freezer.state")
        frozen = freezer is not None and self._freeze(freezer, "FROZEN")
        deadline = time.monotonic() + _REMOVE_SECONDS
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                kill(pid)
            if frozen:
                self._freeze(freezer, "THAWED")  # a frozen process only dies once thawed
                frozen = False
            time.sleep(0.005)

    @staticmethod
    def _freeze(path: Path, state: str) -> bool:
        try:
            path.write_text(state)
            return True
        except OSError:
            return False

    def remove(self) -> None:
        """Removes the cgroup's folders once its processes are gone (they leave as they exit)."""
        deadline = time.monotonic() + _REMOVE_SECONDS
        for folder in reversed(self.folders):
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY or time.monotonic() > deadline:
                        log.error("could not remove the sandbox cgroup %s: %s", folder, error.strerror)
                        break
                    self.kill()
                    time.sleep(0.01)


def detect(mountinfo: str | None = None) -> tuple[Layout | None, str]:
    """This machine's layout (v2 when its unified hierarchy offers the required controllers, else
    the v1 hierarchies), its parent folders made; or None and why no cgroup can be used."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError as error:
            return None, f"cannot read /proc/self/mountinfo ({error.strerror})"
    found = mounts(mountinfo)
    for point, kind, _ in found:
        if kind == "cgroup2" and (point / "cgroup.controllers").exists():
            offered = set((point / "cgroup.controllers").read_text().split())
            if set(REQUIRED) <= offered:
                # CPU time is in every v2 cgroup's cpu.stat; the cpu controller itself is not needed
                # (and cannot be enabled on some machines while realtime tasks run outside the root).
                return _prepared(Layout(2, {name: point / PARENT for name in REQUIRED}))
    v1 = {}
    for point, kind, options in found:
        if kind == "cgroup":
            for name in _V1_CONTROLLERS:
                if name in options and name not in v1:
                    v1[name] = point / PARENT
    if not v1:
        return None, "this machine mounts no cgroup hierarchy with the memory, pids and cpuset controllers"
    return _prepared(Layout(1, v1))


def _prepared(layout: Layout) -> tuple[Layout | None, str]:
    """Makes the parent folders (and, on v2, hands the controllers down to them)."""
    try:
        if layout.version == 2:
            parent = next(iter(layout.parents.values()))
            wanted = " ".join(f"+{name}" for name in layout.parents)
            # Only the top of the hierarchy may hold processes and give controllers to its children;
            # a cgroup below it that holds the grader itself could not ("no internal processes").
            _write(parent.parent / "cgroup.subtree_control", wanted)
            parent.mkdir(exist_ok=True)
            _write(parent / "cgroup.subtree_control", wanted)
        else:
            for name, parent in layout.parents.items():
                parent.mkdir(exist_ok=True)
                if name == "cpuset":
                    top = parent.parent
                    for key in ("cpuset.cpus", "cpuset.mems"):
                        if not _read(parent / key):
                            _write(parent / key, _read(top / key))
    except (OSError, CgroupError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        return None, f"cannot make the grader's cgroups ({reason}; the grader needs root or a delegated cgroup)"
    return layout, ""


def _cpu_list(cores: tuple[int, ...]) -> str:
    return ",".join(str(core) for core in sorted(cores))
