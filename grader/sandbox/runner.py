"""Runs one command in a fresh sandboxed process under limits and reports how it ended."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import glob
import logging
import math
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.sandbox.limits import Limits

log = logging.getLogger(__name__)

SANDBOX_UID_BASE = 61000
"""When the grader is root, slot n runs as uid SANDBOX_UID_BASE + n (and the same gid), a user that
owns nothing on the host, so RLIMIT_NPROC, signals and clean-up never mix between sandboxes."""

# bubblewrap_available's probe gets a user of its own so that its clean-up (which kills every
# process of its uid) can never touch a real run in some slot.
_PROBE_UID = SANDBOX_UID_BASE - 1
_UID_POOL = 1000  # sandbox uids SANDBOX_UID_BASE .. + 999, leased one per concurrent run

_SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/sbin")
# Mount points the sandbox sets up itself; a bind may not replace them or go inside the read-only ones.
_RESERVED_TARGETS = _SYSTEM_DIRS + ("/proc", "/dev", "/etc")
_POLL_SECONDS = 0.25
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_TAIL_BYTES = 4096
_MAX_OPEN_FILES = 1024
# A killed fork bomb may still be forking while it is swept; each round kills what it finds.
_SWEEP_ROUNDS = 200
_DISK_BLOCK = 4096  # the least an entry in a writable bind is counted as (see _over_disk_budget)
# After the sandbox is dead, how long to wait for the end of its output (only an escaped process
# of the weak rlimits mode can keep the pipe open longer).
_OUTPUT_GRACE_SECONDS = 2.0

Status = Literal["ok", "exited", "timeout", "memory", "disk", "signalled"]
Isolation = Literal["bubblewrap", "rlimits"]


@dataclass
class SandboxRun:
    """How one sandboxed command ended, and what it printed."""

    status: Status
    """ok (exit code 0), exited (nonzero exit code; a MemoryError under RLIMIT_AS lands here),
    timeout (killed at the wall-clock limit), memory (killed by the memory watchdog), disk (killed
    for filling its writable binds past limits.tmp_bytes), or signalled (died of a signal it did
    not catch)."""
    exit_code: int | None
    """The exit code; minus the signal number when signalled; None after timeout, memory or disk."""
    output: str
    """stdout and stderr interleaved as captured, utf-8 decoded with errors="replace"; at most
    limits.output_bytes bytes of it, its start and its end around a note of what was dropped."""
    output_truncated: bool
    """Whether some output was dropped to stay within limits.output_bytes."""
    wall_seconds: float
    """Wall-clock time from start to the last process reaped."""
    cpu_seconds: float
    """User+system time of the sandbox's processes: the larger of os.wait4's account (the first
    process and every descendant that was waited for) and the sum over the processes seen every
    0.25 s (which counts killed processes up to the last look). Approximate either way."""
    isolation: Isolation
    """bubblewrap (namespaces: only the binds and the system are visible, no network) or rlimits
    (a plain process with limits: weak isolation, the caller should say so in the report)."""
    limits: Limits
    """The limits of the run, so that describe() can name the one it hit."""

    def describe(self) -> str:
        """One line for a human: "exited with code 1", "timed out after 60 s (the limit)"..."""
        if self.status == "ok":
            return f"finished in {self.wall_seconds:.1f} s"
        if self.status == "exited":
            return f"exited with code {self.exit_code}"
        if self.status == "timeout":
            return f"timed out after {self.limits.wall_seconds:g} s (the limit)"
        if self.status == "memory":
            return f"ran out of memory ({_format_bytes(self.limits.memory_bytes)})"
        if self.status == "disk":
            return f"wrote more than {_format_bytes(self.limits.tmp_bytes)} to its output folders (the limit)"
        return f"was killed by {_signal_name(-(self.exit_code or 0))}"


def _format_bytes(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} (signal {number})"
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class _Bind:
    """One host path made visible in the sandbox."""

    host: Path
    """The path on the host."""
    target: str
    """Where the sandbox sees it (an absolute path); in rlimits mode only a name for argv and env."""
    writable: bool
    """Whether the sandbox may write there (and the host then reads what it wrote)."""

    @property
    def env_name(self) -> str:
        """SANDBOX_<NAME>, where NAME is the target's last component upper-cased."""
        return "SANDBOX_" + re.sub(r"[^A-Z0-9]", "_", os.path.basename(self.target).upper())


@dataclass
class _Launch:
    """A command line ready to start, and how to watch and clean up after it."""

    command: list[str]
    """What subprocess starts (prlimit, then bwrap or the command itself)."""
    env: dict[str, str]
    """The whole environment of the command."""
    cwd: str
    """The working directory on the host that subprocess starts in."""
    isolation: Isolation
    """Which mode this launch is."""
    sandbox_uid: int | None = None
    """The unprivileged uid the sandbox runs as, when the grader switched to it; every process of
    that uid belongs to the sandbox (watched and killed); None when it runs as the grader's user."""
    pass_fds: tuple[int, ...] = ()
    """File descriptors bwrap reads its generated files from (closed by the runner after start)."""
    bwrap_exit_codes: bool = False
    """Whether exit codes above 128 mean the command died of signal code-128 (bwrap reports it so)."""
    writable: tuple[Path, ...] = ()
    """The host folders of the writable binds, which the watchdog keeps within limits.tmp_bytes."""


@functools.cache
def bubblewrap_available() -> bool:
    """Whether bwrap is installed and a trivial sandbox actually runs here; checked once per process."""
    if shutil.which("bwrap") is None or shutil.which("true") is None:
        return False
    true = os.path.realpath(shutil.which("true"))
    try:
        run = _run([true], [], Limits(wall_seconds=30), {}, "/tmp", _PROBE_UID, bubblewrap=True)
    except (OSError, ValueError) as error:
        log.warning("bubblewrap cannot be used here: %s", error)
        return False
    if run.status != "ok":
        log.warning("bubblewrap cannot be used here: a trivial sandbox %s: %s", run.describe(), run.output[-2000:])
    return run.status == "ok"


def run_sandboxed(
    argv: list[str],
    *,
    ro_binds: dict[Path, str],
    rw_binds: dict[Path, str],
    limits: Limits,
    env: dict[str, str],
    cwd: str = "/tmp",
    slot: int = 0,
    use_bubblewrap: bool | None = None,
) -> SandboxRun:
    """Runs `argv` in a fresh sandboxed process under `limits`; returns when every process of it is gone.

    `argv[0]` is an absolute path: a sandbox path inside a bind, a system program, or a Python
    interpreter (a venv's python: its venv and its real installation are made visible read-only at
    their real paths). `ro_binds` and `rw_binds` map host paths to sandbox paths, e.g.
    `{submission: "/submission"}` and `{out: "/out"}`. The environment is `env` over the defaults
    HOME=/tmp, PATH=/usr/bin:/bin, PYTHONDONTWRITEBYTECODE=1.

    Contract that holds in both modes, so that a command works in either:

    - every bind is also given as the environment variable SANDBOX_<NAME>, NAME being the last
      component of its sandbox path upper-cased (`/submission` gives SANDBOX_SUBMISSION);
    - in bubblewrap mode SANDBOX_<NAME> is the sandbox path; in rlimits mode, where no mount is
      possible, it is the host path, and every argv item equal to a sandbox path or under one
      ("/probe/inside.py") is rewritten to the host path; `cwd` likewise, and a `cwd` outside the
      binds (the default /tmp) becomes a fresh private directory, also HOME and TMPDIR.

    bubblewrap mode (`use_bubblewrap` True, or None and `bubblewrap_available()`): new pid, net,
    ipc, uts and cgroup namespaces (loopback only), only the system directories, the interpreter and
    the binds visible, a private /tmp and /dev/shm of `limits.tmp_bytes` each, a generated
    /etc/passwd, /dev/nvidia* passed through when present. When the grader is root, bwrap runs as
    root (so it can bind paths such as /root/.pyenv that an unprivileged user cannot reach) and the
    command runs as a sandbox uid with no capabilities: 61000+`slot` when no other run on the machine
    holds it, else the next free one (see _leased_uid); `rw_binds` are chowned to that uid, the
    top of each of `ro_binds` must be readable by others (ValueError otherwise), and files in them
    that others may not read stay unreadable. Not root: bwrap runs as the grader's user in a new
    user namespace.

    rlimits mode: a plain process with the same rlimits, in its own session; as root it runs as
    the slot's uid when the interpreter and binds are reachable by others, else as root (logged).

    Limits: RLIMIT_AS, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE and no core dumps are set with
    prlimit(1) before bwrap or the command starts; the wall clock, the summed resident memory
    of the sandbox's processes and the disk space used in the writable binds (at most
    `limits.tmp_bytes` together, each entry counted as at least 4 KiB) are watched every 0.25 s.
    """
    if slot < 0:
        raise ValueError(f"Expected a slot >= 0. Received slot={slot}.")
    if use_bubblewrap is None:
        use_bubblewrap = bubblewrap_available()
    binds = _binds(ro_binds, rw_binds)
    with _leased_uid(SANDBOX_UID_BASE + slot) as uid:
        return _run(argv, binds, limits, env, cwd, uid, bubblewrap=use_bubblewrap)


@contextlib.contextmanager
def _leased_uid(preferred: int):
    """A sandbox uid that no other run on this machine holds, the preferred one if it is free.

    Slots only order the runs of one process; a worker and a `grade-all` (or two test runs)
    side by side would otherwise share a uid, and each one's clean-up, which kills every
    process of its uid, would kill the other's sandbox. An flock per uid makes the lease
    machine-wide and ends with the process that held it, whatever way it dies.
    """
    lock_dir = Path("/run/lock") if os.access("/run/lock", os.W_OK) else Path(tempfile.gettempdir())
    for offset in range(_UID_POOL):
        uid = SANDBOX_UID_BASE + (preferred - SANDBOX_UID_BASE + offset) % _UID_POOL
        handle = open(lock_dir / f"cnn-grader-sandbox-{uid}.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            # Holding the lock, nothing of ours runs as this uid: whatever does is an orphan of a
            # grader killed while bwrap was still setting up (its --die-with-parent is armed only
            # after setup, bubblewrap issue 633), and must not live on with no time limit.
            for process in _processes():
                if process.uid == uid and process.alive:
                    _kill(process.pid)
            yield uid
        finally:
            handle.close()  # closing the file releases the lock
        return
    raise RuntimeError(f"All {_UID_POOL} sandbox uids are in use on this machine.")


def _binds(ro_binds: dict[Path, str], rw_binds: dict[Path, str]) -> list[_Bind]:
    binds = [_Bind(Path(h), t, False) for h, t in ro_binds.items()] + [_Bind(Path(h), t, True) for h, t in rw_binds.items()]
    targets: set[str] = set()
    names: set[str] = set()
    for bind in binds:
        target = bind.target
        if not os.path.isabs(target) or os.path.normpath(target) != target or target in ("/", "/tmp"):
            raise ValueError(f"Expected a normalized absolute sandbox path other than / and /tmp. Received {target!r}.")
        if any(_is_within(target, reserved) for reserved in _RESERVED_TARGETS):
            raise ValueError(f"Expected a sandbox path outside {', '.join(_RESERVED_TARGETS)}. Received {target!r}.")
        if target in targets or bind.env_name in names:
            raise ValueError(f"Expected distinct sandbox paths with distinct last components. Received {target!r} twice.")
        if not bind.host.exists():
            raise ValueError(f"Expected an existing host path to bind on {target}. Received {str(bind.host)!r}.")
        targets.add(target)
        names.add(bind.env_name)
    return binds


def _is_within(path: str | Path, directory: str | Path) -> bool:
    path, directory = str(path), str(directory)
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _run(argv: list[str], binds: list[_Bind], limits: Limits, env: dict[str, str], cwd: str, uid: int, *, bubblewrap: bool) -> SandboxRun:
    if not argv or not os.path.isabs(argv[0]):
        raise ValueError(f"Expected argv[0] to be an absolute path. Received argv={argv!r}.")
    if bubblewrap:
        launch = _bubblewrap_launch(argv, binds, limits, env, cwd, uid)
        return _supervise(launch, limits)
    private = Path(tempfile.mkdtemp(prefix="sandbox-"))
    try:
        launch = _rlimits_launch(argv, binds, limits, env, cwd, uid, private)
        return _supervise(launch, limits)
    finally:
        # Without root, files the command made unremovable (a chmod 0 directory) stay behind; they
        # are inside a mode 0700 directory of the grader's user.
        shutil.rmtree(private, ignore_errors=True)


def _gpu_devices() -> list[str]:
    return sorted(glob.glob("/dev/nvidia*"))


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed (util-linux and bubblewrap provide what the sandbox needs): run make setup")
    return os.path.realpath(found)


def _prlimit_prefix(limits: Limits, gpu: bool) -> list[str]:
    """prlimit(1) sets the limits and execs the rest, so no Python runs between fork and exec."""
    command = [
        _tool("prlimit"),
        f"--nproc={limits.max_processes}",
        f"--fsize={limits.file_bytes}",
        f"--nofile={_MAX_OPEN_FILES}",
        "--core=0",
        # A backstop for a sandbox that outlives its supervisor (see _leased_uid): no process of a
        # run can use more CPU than its wall-clock limit on every core, so honest runs never hit it.
        f"--cpu={math.ceil(limits.wall_seconds * (os.cpu_count() or 1)) + 10}",
    ]
    if not gpu:
        command.append(f"--as={limits.memory_bytes}")
    return command + ["--"]


def _interpreter_roots(executable: str) -> list[Path]:
    """The directories a Python interpreter needs besides the system: its venv and its installation."""
    exe = Path(executable)
    roots = []
    venv = exe.parent.parent
    if (venv / "pyvenv.cfg").is_file():
        roots.append(venv)
        for line in (venv / "pyvenv.cfg").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                roots.append(Path(value.strip()).resolve().parent)
    prefix = exe.resolve().parent.parent
    if any(prefix.glob("lib/python3*")):
        roots.append(prefix)
    visible = []
    for root in roots:
        if not any(_is_within(root, other) for other in (*_SYSTEM_DIRS, *visible)):
            visible.append(root)
    return visible


def _check_visible(argv0: str, binds: list[_Bind], roots: list[Path]) -> None:
    if any(_is_within(argv0, bind.target) for bind in binds):
        return
    seen = (*_SYSTEM_DIRS, *roots)
    for path in (argv0, os.path.realpath(argv0)):
        if not any(_is_within(path, directory) for directory in seen):
            raise ValueError(f"Expected argv[0] inside a bind, the system or a Python installation. Received {path!r}.")


def _readable_by_others(path: Path, *, whole_path: bool) -> bool:
    """Whether a user who owns nothing and is in no group can read `path` (and reach it, if whole_path)."""
    real = Path(os.path.realpath(path))
    if whole_path and not all(os.stat(parent).st_mode & stat.S_IXOTH for parent in real.parents):
        return False
    mode = os.stat(real).st_mode
    needed = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
    return mode & needed == needed


def _chown_tree(top: Path, uid: int) -> None:
    os.chown(top, uid, uid, follow_symlinks=False)
    for directory, subdirectories, files in os.walk(top):
        for name in subdirectories + files:
            os.chown(os.path.join(directory, name), uid, uid, follow_symlinks=False)


def _data_fd(text: str) -> int:
    """A pipe's read end holding `text`, for bwrap's --ro-bind-data (small enough for the pipe buffer)."""
    read_end, write_end = os.pipe()
    os.write(write_end, text.encode())
    os.close(write_end)
    return read_end


def _base_env(env: dict[str, str], home: str) -> dict[str, str]:
    return {"HOME": home, "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", **env}


def _bubblewrap_launch(argv: list[str], binds: list[_Bind], limits: Limits, env: dict[str, str], cwd: str, uid: int) -> _Launch:
    as_root = os.geteuid() == 0
    roots = _interpreter_roots(argv[0])
    _check_visible(argv[0], binds, roots)
    if as_root:
        for path in [*roots, *(b.host for b in binds if not b.writable)]:
            if not _readable_by_others(path, whole_path=False):
                raise ValueError(f"Expected {path} to be readable by others (o+r, o+x on directories): the sandbox user owns nothing on the host.")
        for bind in binds:
            if bind.writable:
                _chown_tree(bind.host, uid)
    sandbox_uid = uid if as_root else os.getuid()
    sandbox_gid = uid if as_root else os.getgid()
    gpu = _gpu_devices()
    prlimit = _prlimit_prefix(limits, gpu=bool(gpu))
    setpriv = [_tool("setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
               "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"] if as_root else []

    bwrap = [_tool("bwrap"), "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not as_root:
        # Root needs no user namespace (and one would map the sandbox to host root); others get one,
        # and the sandbox may not make more.
        bwrap += ["--unshare-user", "--disable-userns"]
    bwrap += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
    targets = []
    for directory in _SYSTEM_DIRS:
        if os.path.islink(directory):
            bwrap += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            bwrap += ["--ro-bind", directory, directory]
    passwd_fd = _data_fd(f"sandbox:x:{sandbox_uid}:{sandbox_gid}:sandbox:/tmp:/usr/sbin/nologin\n")
    group_fd = _data_fd(f"sandbox:x:{sandbox_gid}:\n")
    bwrap += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    bwrap += ["--perms", "0444", "--ro-bind-data", str(passwd_fd), "/etc/passwd"]
    bwrap += ["--perms", "0444", "--ro-bind-data", str(group_fd), "/etc/group"]
    targets += ["/etc/ld.so.cache", "/etc/passwd"]
    bwrap += ["--proc", "/proc", "--dev", "/dev"]
    bwrap += ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    bwrap += ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm"]
    for device in gpu:
        bwrap += ["--dev-bind", device, device]
    for root in roots:
        bwrap += ["--ro-bind", str(root), str(root)]
        targets.append(str(root))
    for bind in binds:
        bwrap += ["--bind" if bind.writable else "--ro-bind", str(bind.host), bind.target]
        targets.append(bind.target)
    # bwrap makes the parents of mount points mode 0700 when it runs as root; the sandbox user
    # must be able to walk through them to reach the interpreter and the binds.
    # Parents inside the private /tmp count too: a checkout under /tmp (CI's clean clone, say)
    # puts the virtualenv's mount point there.
    mounted = (*_SYSTEM_DIRS, "/proc", "/dev", *targets)
    parents = {str(p) for t in targets for p in Path(t).parents if str(p) != "/"}
    tmpfs = {"/tmp", "/dev/shm"}  # keep their 1777; only directories made inside them need opening up
    for parent in sorted(p for p in parents if p not in tmpfs and not any(_is_within(p, m) for m in mounted)):
        bwrap += ["--chmod", "0755", parent]
    bwrap += ["--chdir", cwd, "--", *setpriv, *argv]

    full_env = _base_env(env, "/tmp") | {bind.env_name: bind.target for bind in binds}
    return _Launch(
        command=prlimit + bwrap,
        env=full_env,
        cwd="/",
        isolation="bubblewrap",
        sandbox_uid=uid if as_root else None,
        pass_fds=(passwd_fd, group_fd),
        bwrap_exit_codes=True,
        writable=tuple(b.host for b in binds if b.writable),
    )


def _to_host(value: str, binds: list[_Bind]) -> str:
    for bind in sorted(binds, key=lambda b: len(b.target), reverse=True):
        if _is_within(value, bind.target):
            return str(bind.host) + value[len(bind.target):]
    return value


def _rlimits_launch(argv: list[str], binds: list[_Bind], limits: Limits, env: dict[str, str], cwd: str, uid: int, private: Path) -> _Launch:
    roots = _interpreter_roots(_to_host(argv[0], binds))
    needed = [Path(_to_host(argv[0], binds)), *roots, *(b.host for b in binds)]
    drop = os.geteuid() == 0 and all(_readable_by_others(path, whole_path=True) for path in needed)
    if os.geteuid() == 0 and not drop:
        log.warning("rlimits sandbox runs as root: %s or a bind is not readable by others", argv[0])
    if drop:
        for path in [private, *(b.host for b in binds if b.writable)]:
            _chown_tree(path, uid)
    cwd_in_bind = any(_is_within(cwd, bind.target) for bind in binds)
    full_env = _base_env(env, str(private)) | {"TMPDIR": str(private)} | {b.env_name: str(b.host) for b in binds}
    return _Launch(
        command=_prlimit_prefix(limits, gpu=bool(_gpu_devices())) + [_to_host(item, binds) for item in argv],
        env=full_env,
        cwd=_to_host(cwd, binds) if cwd_in_bind else str(private),
        isolation="rlimits",
        sandbox_uid=uid if drop else None,
        writable=tuple(b.host for b in binds if b.writable),
    )


@dataclass
class _Process:
    """What the watchdog needs to know of one process, from /proc/<pid>/status."""

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


def _processes() -> list[_Process]:
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
        found.append(_Process(
            pid=int(name),
            ppid=int(fields["PPid"]),
            session=int(session[0]) if session else 0,
            uid=int(fields["Uid"].split()[0]),
            rss_bytes=int(fields.get("VmRSS", "0 kB").split()[0]) * 1024,
            alive=fields.get("State", "R").strip()[:1] not in ("Z", "X"),
        ))
    return found


def _sandbox_processes(root_pid: int, sandbox_uid: int | None) -> list[_Process]:
    """The descendants of `root_pid`, the members of its session, and every process of `sandbox_uid`."""
    processes = _processes()
    children: dict[int, list[_Process]] = {}
    for process in processes:
        children.setdefault(process.ppid, []).append(process)
    chosen = {p.pid: p for p in processes if p.session == root_pid or (sandbox_uid is not None and p.uid == sandbox_uid)}
    stack = [root_pid]
    while stack:
        for child in children.get(stack.pop(), []):
            chosen[child.pid] = child
            stack.append(child.pid)
    chosen.pop(root_pid, None)
    return [p for p in chosen.values() if p.alive]


def _record_cpu(processes: list[_Process], seen: dict[tuple[int, int], float]) -> None:
    """Notes each process's user+system seconds so far, keyed by (pid, start time) against pid reuse."""
    for process in processes:
        try:
            with open(f"/proc/{process.pid}/stat", "rb") as stat_file:
                fields = stat_file.read().rsplit(b")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # Fields after the command name, counted from 0 at the state: utime 11, stime 12, starttime 19.
        seen[(process.pid, int(fields[19]))] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _sweep(root_pid: int, sandbox_uid: int | None) -> None:
    """Kills every process of the sandbox left once its first process is gone or killed."""
    for _ in range(_SWEEP_ROUNDS):
        left = _sandbox_processes(root_pid, sandbox_uid)
        if not left:
            return
        for process in left:
            _kill(process.pid)
        time.sleep(0.005)
    log.error("sandbox processes survived %d rounds of SIGKILL: %s", _SWEEP_ROUNDS, [p.pid for p in left])


def _over_disk_budget(folders: tuple[Path, ...], budget: int) -> bool:
    """Whether the trees under `folders` use more than `budget` bytes of disk, each entry counted as
    at least one 4 KiB block (so that millions of empty files count too).

    RLIMIT_FSIZE bounds one file, not how many: without this a sandbox could fill the host's disk
    through /out, a host folder. Iterative, and stops at the budget, so a deep or huge tree costs
    no more than the budget's worth of lstat calls. A tree that cannot be measured (nested past
    PATH_MAX, or made unreadable) counts as over: only an attack builds one.
    """
    used = 0
    stack = [str(folder) for folder in folders if os.path.isdir(folder)]  # a file bind: RLIMIT_FSIZE bounds it
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


class _OutputCapture:
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
        """Waits for the end of the output (at most `grace_seconds`), then returns (text, truncated)."""
        self._thread.join(grace_seconds)
        self._stop.set()
        self._thread.join()
        if self._total <= self._limit:
            return bytes(self._head).decode(errors="replace"), False
        tail_length = min(_TAIL_BYTES, self._limit // 4)
        # The note's length depends on the count it reports; sized for the largest count, the
        # real note is never longer.
        longest_note = f"\n[... {self._total} bytes of output dropped ...]\n"
        head_length = max(self._limit - tail_length - len(longest_note), 0)
        if head_length == 0:
            return bytes(self._head).decode(errors="replace"), True
        dropped = self._total - head_length - tail_length
        note = f"\n[... {dropped} bytes of output dropped ...]\n"
        head = bytes(self._head[:head_length]).decode(errors="replace")
        tail = bytes(self._tail[-tail_length:]).decode(errors="replace") if tail_length else ""
        return head + note + tail, True


def _supervise(launch: _Launch, limits: Limits) -> SandboxRun:
    start = time.monotonic()
    try:
        process = subprocess.Popen(
            launch.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=launch.env,
            cwd=launch.cwd,
            start_new_session=True,
            pass_fds=launch.pass_fds,
            user=launch.sandbox_uid if launch.isolation == "rlimits" else None,
            group=launch.sandbox_uid if launch.isolation == "rlimits" else None,
            extra_groups=[] if launch.isolation == "rlimits" and launch.sandbox_uid is not None else None,
        )
    finally:
        for fd in launch.pass_fds:
            os.close(fd)
    capture = _OutputCapture(process.stdout.fileno(), limits.output_bytes)

    # Waits without reaping: until the first process is reaped its pid (and so its session id)
    # cannot be reused, so the clean-up below cannot hit an unrelated process.
    exited = threading.Event()
    threading.Thread(
        target=lambda: (os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT), exited.set()),
        name="sandbox-wait",
        daemon=True,
    ).start()

    reason: Status | None = None
    cpu_seen: dict[tuple[int, int], float] = {}
    deadline = start + limits.wall_seconds
    while not exited.wait(max(0.0, min(_POLL_SECONDS, deadline - time.monotonic()))):
        running = _sandbox_processes(process.pid, launch.sandbox_uid)
        _record_cpu(running, cpu_seen)
        if time.monotonic() >= deadline:
            reason = "timeout"
            break
        if sum(p.rss_bytes for p in running) > limits.memory_bytes:
            reason = "memory"
            break
        if _over_disk_budget(launch.writable, limits.tmp_bytes):
            reason = "disk"
            break
    if reason is not None:
        _kill(process.pid)  # with bwrap this ends its pid namespace, and so every process in it
        _sweep(process.pid, launch.sandbox_uid)
    exited.wait()
    _sweep(process.pid, launch.sandbox_uid)
    _, wait_status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(wait_status)
    wall_seconds = time.monotonic() - start
    output, truncated = capture.finish(_OUTPUT_GRACE_SECONDS)
    process.stdout.close()

    code = process.returncode
    if reason is not None:
        status, exit_code = reason, None
    elif code < 0:
        status, exit_code = "signalled", code
    elif launch.bwrap_exit_codes and code > 128 and code - 128 in signal.valid_signals():
        status, exit_code = "signalled", -(code - 128)
    else:
        status, exit_code = ("ok" if code == 0 else "exited"), code
    return SandboxRun(
        status=status,
        exit_code=exit_code,
        output=output,
        output_truncated=truncated,
        wall_seconds=wall_seconds,
        cpu_seconds=max(usage.ru_utime + usage.ru_stime, sum(cpu_seen.values())),
        isolation=launch.isolation,
        limits=limits,
    )
