"""The command lines that start a sandbox: enter its cgroup, set rlimits, then bubblewrap (or a plain process)."""

from __future__ import annotations

import math
import os
import re
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grader.sandbox.envelope import Envelope

Isolation = Literal["bubblewrap", "rlimits"]

SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/sbin")
# Mount points the sandbox sets up itself; a bind may not replace them or go inside the read-only ones.
_RESERVED_TARGETS = SYSTEM_DIRS + ("/proc", "/dev", "/etc")
_MAX_OPEN_FILES = 1024
# Joins the cgroups named before "--" (its own pid into each cgroup.procs), then becomes the rest:
# everything the sandbox starts afterwards is born inside them, with no moment outside.
_ENTER_CGROUPS = ('while [ "$1" != -- ]; do echo $$ > "$1" || { echo "cnn-grader: cannot enter the cgroup $1" >&2; '
                  'exit 125; }; shift; done; shift; exec "$@"')


@dataclass(frozen=True)
class Bind:
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
class Plan:
    """Everything the runner decided for one run, from which its command line follows."""

    argv: list[str]
    binds: list[Bind]
    envelope: Envelope
    env: dict[str, str]
    """The caller's environment for the command, and the frameworks' settings for its cores and GPU."""
    cwd: str
    uid: int
    """The leased sandbox uid (used when the grader is root)."""
    cores: tuple[int, ...] = ()
    cgroup_procs: list[Path] = field(default_factory=list)
    """The cgroup.procs files the launcher joins; empty without cgroups."""
    cpuset: bool = False
    """Whether the cgroup pins the cores (else taskset sets an affinity the sandbox could undo)."""
    scratch: Path | None = None
    """A size-limited mount holding tmp/ and shm/, the run's /tmp and /dev/shm; None: bwrap's tmpfs."""
    seccomp_fd: int | None = None
    """A pipe holding the system-call filter for bwrap, or None."""
    devices: list[str] = field(default_factory=list)
    """Device nodes passed through (the leased GPU's)."""


@dataclass
class Launch:
    """A command line ready to start, and how to watch and clean up after it."""

    command: list[str]
    env: dict[str, str]
    cwd: str
    isolation: Isolation
    sandbox_uid: int | None = None
    """The unprivileged uid the sandbox runs as, when the grader switched to it; every process of
    that uid belongs to the sandbox (watched and killed); None when it runs as the grader's user."""
    pass_fds: tuple[int, ...] = ()
    """File descriptors bwrap reads its generated files from (closed by the runner after start)."""
    bwrap_exit_codes: bool = False
    """Whether exit codes above 128 mean the command died of signal code-128 (bwrap reports it so)."""


def binds_of(ro_binds: dict[Path, str], rw_binds: dict[Path, str]) -> list[Bind]:
    binds = [Bind(Path(h), t, False) for h, t in ro_binds.items()] + [Bind(Path(h), t, True) for h, t in rw_binds.items()]
    targets: set[str] = set()
    names: set[str] = set()
    for bind in binds:
        target = bind.target
        if not os.path.isabs(target) or os.path.normpath(target) != target or target in ("/", "/tmp"):
            raise ValueError(f"Expected a normalized absolute sandbox path other than / and /tmp. Received {target!r}.")
        if any(is_within(target, reserved) for reserved in _RESERVED_TARGETS):
            raise ValueError(f"Expected a sandbox path outside {', '.join(_RESERVED_TARGETS)}. Received {target!r}.")
        if target in targets or bind.env_name in names:
            raise ValueError(f"Expected distinct sandbox paths with distinct last components. Received {target!r} twice.")
        if not bind.host.exists():
            raise ValueError(f"Expected an existing host path to bind on {target}. Received {str(bind.host)!r}.")
        targets.add(target)
        names.add(bind.env_name)
    return binds


def is_within(path: str | Path, directory: str | Path) -> bool:
    path, directory = str(path), str(directory)
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed (util-linux and bubblewrap provide what the sandbox needs): run make setup")
    return os.path.realpath(found)


def _prefix(plan: Plan) -> list[str]:
    """Joins the cgroups, sets the rlimits with prlimit(1) (no Python runs between fork and exec),
    and without a cpuset pins the cores with taskset."""
    envelope = plan.envelope
    command = [tool("sh"), "-c", _ENTER_CGROUPS, "cnn-grader-enter", *map(str, plan.cgroup_procs), "--"]
    command += [
        tool("prlimit"),
        f"--nproc={envelope.max_processes}",
        f"--fsize={envelope.file_bytes}",
        f"--nofile={_MAX_OPEN_FILES}",
        "--core=0",
        # A backstop for a process that outlives its supervisor (see leases.leased_uid): no process
        # may use more CPU than the whole run's budget, so honest runs never hit it.
        f"--cpu={math.ceil(envelope.cpu_seconds) + 10}",
    ]
    if not plan.devices:
        # Beside the memory cgroup (which counts everything, but can only kill), one process's giant
        # allocation fails inside it as a MemoryError the student's traceback shows. CUDA reserves
        # huge virtual ranges: no address-space limit on a GPU.
        command.append(f"--as={envelope.memory_bytes}")
    command.append("--")
    if plan.cores and not plan.cpuset:
        command += [tool("taskset"), "--cpu-list", ",".join(map(str, plan.cores))]
    return command


def _setpriv(uid: int) -> list[str]:
    return [tool("setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def interpreter_roots(executable: str) -> list[Path]:
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
        roots += _pth_directories(venv)
    prefix = exe.resolve().parent.parent
    if any(prefix.glob("lib/python3*")):
        roots.append(prefix)
    visible = []
    for root in roots:
        if not any(is_within(root, other) for other in (*SYSTEM_DIRS, *visible)):
            visible.append(root)
    return visible


SITE_FOLDERS = ("site-packages", "dist-packages")


def _pth_directories(venv: Path) -> list[Path]:
    """Other installations' package folders that the venv's .pth files add to sys.path: the GPU
    check's venv reaches the GPU machine's own JAX and PyTorch, which live in another venv, through
    one (scripts/gpu_check.sh). Only folders named like SITE_FOLDERS: an editable install's .pth
    names a source tree (this repository, say, with var/secret and the gradebook), never shown."""
    found = []
    for pth in sorted(venv.glob("lib/python3*/site-packages/*.pth")):
        for line in pth.read_text(errors="replace").splitlines():
            line = line.strip()
            # "import ..." lines are code that site.py runs, not folders. A folder is shown at the
            # path written (a symbolic link in it would point nowhere inside the sandbox).
            if line.startswith("/") and Path(line).name in SITE_FOLDERS and Path(line).is_dir():
                found.append(Path(line))
    return found


def _check_visible(argv0: str, binds: list[Bind], roots: list[Path]) -> None:
    if any(is_within(argv0, bind.target) for bind in binds):
        return
    seen = (*SYSTEM_DIRS, *roots)
    for path in (argv0, os.path.realpath(argv0)):
        if not any(is_within(path, directory) for directory in seen):
            raise ValueError(f"Expected argv[0] inside a bind, the system or a Python installation. Received {path!r}.")


def readable_by_others(path: Path, *, whole_path: bool) -> bool:
    """Whether a user who owns nothing and is in no group can read `path` (and reach it, if whole_path)."""
    real = Path(os.path.realpath(path))
    if whole_path and not all(os.stat(parent).st_mode & stat.S_IXOTH for parent in real.parents):
        return False
    mode = os.stat(real).st_mode
    needed = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
    return mode & needed == needed


def chown_tree(top: Path, uid: int) -> None:
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


def bubblewrap_launch(plan: Plan) -> Launch:
    as_root = os.geteuid() == 0
    argv, binds, uid = plan.argv, plan.binds, plan.uid
    roots = interpreter_roots(argv[0])
    _check_visible(argv[0], binds, roots)
    if as_root:
        for path in [*roots, *(b.host for b in binds if not b.writable)]:
            if not readable_by_others(path, whole_path=False):
                raise ValueError(f"Expected {path} to be readable by others (o+r, o+x on directories): the sandbox user owns nothing on the host.")
        for bind in binds:
            if bind.writable:
                chown_tree(bind.host, uid)
    sandbox_uid = uid if as_root else os.getuid()
    sandbox_gid = uid if as_root else os.getgid()

    bwrap = [tool("bwrap"), "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not as_root:
        # Root needs no user namespace (and one would map the sandbox to host root); others get one,
        # and the sandbox may not make more. As root, the seccomp filter refuses new namespaces.
        bwrap += ["--unshare-user", "--disable-userns"]
    bwrap += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
    pass_fds = []
    if plan.seccomp_fd is not None:
        bwrap += ["--seccomp", str(plan.seccomp_fd)]
        pass_fds.append(plan.seccomp_fd)
    targets = []
    for directory in SYSTEM_DIRS:
        if os.path.islink(directory):
            bwrap += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            bwrap += ["--ro-bind", directory, directory]
    passwd_fd = _data_fd(f"sandbox:x:{sandbox_uid}:{sandbox_gid}:sandbox:/tmp:/usr/sbin/nologin\n")
    group_fd = _data_fd(f"sandbox:x:{sandbox_gid}:\n")
    pass_fds += [passwd_fd, group_fd]
    bwrap += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    bwrap += ["--perms", "0444", "--ro-bind-data", str(passwd_fd), "/etc/passwd"]
    bwrap += ["--perms", "0444", "--ro-bind-data", str(group_fd), "/etc/group"]
    targets += ["/etc/ld.so.cache", "/etc/passwd"]
    bwrap += ["--proc", "/proc", "--dev", "/dev"]
    if plan.scratch is not None:
        bwrap += ["--bind", str(plan.scratch / "tmp"), "/tmp", "--bind", str(plan.scratch / "shm"), "/dev/shm"]
    else:
        bwrap += ["--perms", "1777", "--size", str(plan.envelope.disk_bytes), "--tmpfs", "/tmp"]
        bwrap += ["--perms", "1777", "--size", str(plan.envelope.disk_bytes), "--tmpfs", "/dev/shm"]
    for device in plan.devices:
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
    mounted = (*SYSTEM_DIRS, "/proc", "/dev", *targets)
    parents = {str(p) for t in targets for p in Path(t).parents if str(p) != "/"}
    tmpfs = {"/tmp", "/dev/shm"}  # keep their 1777; only directories made inside them need opening up
    for parent in sorted(p for p in parents if p not in tmpfs and not any(is_within(p, m) for m in mounted)):
        bwrap += ["--chmod", "0755", parent]
    bwrap += ["--chdir", plan.cwd, "--", *(_setpriv(uid) if as_root else []), *argv]

    full_env = _base_env(plan.env, "/tmp") | {bind.env_name: bind.target for bind in binds}
    return Launch(
        command=_prefix(plan) + bwrap,
        env=full_env,
        cwd="/",
        isolation="bubblewrap",
        sandbox_uid=uid if as_root else None,
        pass_fds=tuple(pass_fds),
        bwrap_exit_codes=True,
    )


def to_host(value: str, binds: list[Bind]) -> str:
    for bind in sorted(binds, key=lambda b: len(b.target), reverse=True):
        if is_within(value, bind.target):
            return str(bind.host) + value[len(bind.target):]
    return value


def rlimits_launch(plan: Plan, private: Path) -> Launch:
    """A plain process in its own session with the same limits; `private` is its /tmp and HOME."""
    argv, binds, uid = plan.argv, plan.binds, plan.uid
    roots = interpreter_roots(to_host(argv[0], binds))
    needed = [Path(to_host(argv[0], binds)), *roots, *(b.host for b in binds)]
    drop = os.geteuid() == 0 and all(readable_by_others(path, whole_path=True) for path in needed)
    if drop:
        for path in [private, *(b.host for b in binds if b.writable)]:
            chown_tree(path, uid)
    cwd_in_bind = any(is_within(plan.cwd, bind.target) for bind in binds)
    full_env = _base_env(plan.env, str(private)) | {"TMPDIR": str(private)} | {b.env_name: str(b.host) for b in binds}
    return Launch(
        command=_prefix(plan) + (_setpriv(uid) if drop else []) + [to_host(item, binds) for item in argv],
        env=full_env,
        cwd=to_host(plan.cwd, binds) if cwd_in_bind else str(private),
        isolation="rlimits",
        sandbox_uid=uid if drop else None,
    )
