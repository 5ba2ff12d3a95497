"""Size-limited file systems for what a sandbox writes: its /tmp and /dev/shm, and its /out.

Each is a tmpfs of its own with a size and an inode limit, mounted by the grader on the host, so
the kernel counts every block and inode written there, files unlinked while still open included,
and refuses more with ENOSPC; its pages are charged to the memory cgroup of the process that
wrote them. A folder on the host's disk could be filled unseen by files unlinked while open.
Mounting needs root (CAP_SYS_ADMIN); without it the runner falls back to bubblewrap's own tmpfs
for /tmp and a watched host folder for /out, and says the envelope is weak.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.processes import start_time

log = logging.getLogger(__name__)

SOURCE_PREFIX = "cnn-grader"
"""Every scratch mount's source names its owner, "cnn-grader:<pid>:<start time>:<purpose>", so that a
later grader can tell the mounts of a killed one and remove them."""
_MNT_DETACH = 2
_MS_NOSUID, _MS_NODEV = 2, 4


@functools.cache
def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _mount_tmpfs(source: str, target: Path, options: str) -> None:
    flags = _MS_NOSUID | _MS_NODEV
    if _libc().mount(source.encode(), str(target).encode(), b"tmpfs", flags, options.encode()) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(target))


def unmount(target: Path) -> None:
    """Detaches the file system at `target` (whatever still has it open keeps it until closed)."""
    if _libc().umount2(str(target).encode(), _MNT_DETACH) != 0:
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOENT):  # not a mount point (any more)
            raise OSError(code, os.strerror(code), str(target))


@dataclass(frozen=True)
class Usage:
    """How full a scratch file system is."""

    used_bytes: int
    total_bytes: int
    free_files: int

    @property
    def full(self) -> bool:
        """No block or no inode left: the next write fails with ENOSPC."""
        return self.used_bytes >= self.total_bytes or self.free_files <= 0


def usage(target: Path) -> Usage:
    info = os.statvfs(target)
    return Usage((info.f_blocks - info.f_bfree) * info.f_frsize, info.f_blocks * info.f_frsize, info.f_ffree)


def mount_limited(target: Path, size_bytes: int, files: int, purpose: str, mode: int = 0o755) -> bool:
    """Mounts a fresh tmpfs of `size_bytes` and `files` inodes (the root folder included) on the
    existing folder `target`; False when this process may not mount (not root, a locked-down
    container), in which case `target` stays a plain folder."""
    source = f"{SOURCE_PREFIX}:{os.getpid()}:{start_time(os.getpid())}:{purpose}"
    try:
        _mount_tmpfs(source, target, f"size={size_bytes},nr_inodes={files + 1},mode={mode:o}")
    except OSError as error:
        if error.errno in (errno.EPERM, errno.EACCES, errno.ENOSYS):
            return False
        raise
    return True


def release(target: Path) -> None:
    """Unmounts `target` if it is a mount point: what was written there is gone, the folder stays."""
    if os.path.ismount(target):
        unmount(target)


def sweep_orphans(mountinfo: str | None = None) -> list[Path]:
    """Unmounts the scratch mounts of grader processes that no longer run; returns their mount points."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    removed = []
    for line in mountinfo.splitlines():
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 2 or not tail[1].startswith(SOURCE_PREFIX + ":"):
            continue
        _, pid, started, _ = (tail[1].split(":", 3) + ["", "", ""])[:4]
        if pid.isdigit() and str(start_time(int(pid))) == started:
            continue  # its grader still runs
        point = Path(fields[4].replace("\\040", " "))
        try:
            unmount(point)
            removed.append(point)
        except OSError as error:
            log.error("could not unmount the orphaned scratch file system at %s: %s", point, error.strerror)
    return removed
