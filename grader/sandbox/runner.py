"""run_sandboxed: one command in a fresh sandbox, inside its resource envelope, and how it ended."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.sandbox import cgroups, devices, leases, processes, scratch, seccomp
from grader.present import size_text
from grader.sandbox.envelope import Envelope
from grader.sandbox.launch import Bind, Isolation, Plan, binds_of, bubblewrap_launch, rlimits_launch
from grader.sandbox.leases import SANDBOX_UID_BASE, Allotment
from grader.sandbox.supervise import Outcome, Status, Watch, supervise

log = logging.getLogger(__name__)

# bubblewrap_available's probe gets a user of its own so that its clean-up (which kills every
# process of its uid) can never touch a real run.
_PROBE_UID = SANDBOX_UID_BASE - 1
_mounts_refused = False  # set once this process was refused a mount: no more tries


@dataclass
class SandboxRun:
    """How one sandboxed command ended, what it printed, and what it used."""

    status: Status
    """ok (exit code 0), exited (nonzero exit code), timeout (its time budget or the wall-clock cap
    ran out: see time_limit), memory (the memory limit was reached), disk (its /tmp or /out filled
    up: see disk_full), or signalled (died of a signal it did not catch)."""
    exit_code: int | None
    """The exit code; minus the signal number when signalled; None after timeout, memory or disk."""
    output: str
    """stdout and stderr interleaved as captured, made safe (grader.text); at most
    envelope.output_bytes bytes of it, its start and its end around a note of what was dropped."""
    output_truncated: bool
    wall_seconds: float
    """Wall-clock time from start to the last process reaped; the wait for cores is not in it."""
    cpu_seconds: float
    """User+system CPU time of every process of the run: the cgroup's count; without a cgroup, the
    larger of os.wait4's account and the sum over the processes seen every 0.1 s (approximate)."""
    isolation: Isolation
    """bubblewrap (namespaces: only the binds and the system are visible, no network) or rlimits
    (a plain process with limits: weak isolation, the caller should say so in the report)."""
    envelope: Envelope
    """The envelope of the run, so that describe() can name the limit it hit."""
    time_limit: Literal["cpu", "wall"] | None = None
    """After a timeout: "cpu" (the budget of envelope.cpu_seconds) or "wall" (the safety cap)."""
    wall_cap_seconds: float = 0.0
    disk_full: str | None = None
    """After a disk verdict: "/tmp" or the writable bind that filled up."""
    cores: tuple[int, ...] = ()
    """The cores it ran on, alone among sandboxes."""
    gpu: int | None = None
    """The GPU it was given (/dev/nvidiaN), or None."""
    queued_seconds: float = 0.0
    """How long it waited for its cores and GPU share before it started."""
    memory_peak_bytes: int | None = None
    """The most memory its cgroup held at once, where the kernel tells it."""
    weaknesses: tuple[str, ...] = ()
    """What of the envelope this machine could not enforce with the kernel, in words; empty when
    every limit was."""
    node: str | None = None
    """Where it ran when not on the grader's own machine: "Ray node <id> (<address>)"; None here."""

    def describe(self) -> str:
        """One line for a human: "exited with code 1", "used its time budget of 60 s on 1 core"..."""
        if self.status == "ok":
            return f"finished in {self.wall_seconds:.1f} s"
        if self.status == "exited":
            return f"exited with code {self.exit_code}"
        if self.status == "timeout" and self.time_limit == "wall":
            return f"was still running at the wall-clock cap of {self.wall_cap_seconds:.0f} s"
        if self.status == "timeout":
            return f"used its time budget of {self.envelope.seconds:g} s on {_cores(self.envelope.cpus)}"
        if self.status == "memory":
            return f"ran out of memory ({size_text(self.envelope.memory_bytes)})"
        if self.status == "disk":
            return f"filled {self.disk_full or 'its output folders'} (the limit: {size_text(self.envelope.disk_bytes)})"
        return f"was killed by {_signal_name(-(self.exit_code or 0))}"


def _cores(count: int) -> str:
    return f"{count} core{'s' if count != 1 else ''}"


def _signal_name(number: int) -> str:
    import signal

    try:
        return f"{signal.Signals(number).name} (signal {number})"
    except ValueError:
        return f"signal {number}"


def available_cores() -> list[int]:
    """The cores this process may run on: the pool sandboxes are given cores from."""
    return sorted(os.sched_getaffinity(0))


@functools.cache
def bubblewrap_available() -> bool:
    """Whether bwrap is installed and a trivial sandbox actually runs here; checked once per process."""
    if shutil.which("bwrap") is None or shutil.which("true") is None:
        return False
    true = os.path.realpath(shutil.which("true"))
    allotment = Allotment(tuple(available_cores()[:1]), None, 0, 0.0)
    try:
        run = _run([true], [], Envelope(seconds=30), {}, "/tmp", _PROBE_UID, allotment, bubblewrap=True, enforce=False)
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
    envelope: Envelope,
    env: dict[str, str],
    cwd: str = "/tmp",
    slot: int = 0,
    use_bubblewrap: bool | None = None,
    cores: Sequence[int] | None = None,
) -> SandboxRun:
    """Runs `argv` in a fresh sandbox inside `envelope`; returns when every process of it is gone.

    First it waits until `envelope.cpus` of `cores` (default: every core this process may use)
    and its GPU share are free on the whole machine (leases.allotted); the wait is not counted.

    `argv[0]` is an absolute path: a sandbox path inside a bind, a system program, or a Python
    interpreter (a venv's python: its venv and its real installation are made visible read-only at
    their real paths). `ro_binds` and `rw_binds` map host paths to sandbox paths, e.g.
    `{submission: "/submission"}` and `{out: "/out"}`; a writable bind that is a size-limited
    mount (make_output_folder) is watched by its fill level, any other by walking it. The
    environment is `env` over HOME=/tmp, PATH=/usr/bin:/bin, PYTHONDONTWRITEBYTECODE=1, with the
    thread and GPU settings of devices.framework_env over it.

    Contract that holds in both modes, so that a command works in either:

    - every bind is also given as the environment variable SANDBOX_<NAME>, NAME being the last
      component of its sandbox path upper-cased (`/submission` gives SANDBOX_SUBMISSION);
    - in bubblewrap mode SANDBOX_<NAME> is the sandbox path; in rlimits mode, where no mount is
      possible, it is the host path, and every argv item equal to a sandbox path or under one
      ("/probe/inside.py") is rewritten to the host path; `cwd` likewise, and a `cwd` outside the
      binds (the default /tmp) becomes a fresh private directory, also HOME and TMPDIR.

    bubblewrap mode (`use_bubblewrap` True, or None and `bubblewrap_available()`): new pid, net,
    ipc, uts and cgroup namespaces (loopback only), only the system directories, the interpreter and
    the binds visible, the system-call filter of seccomp.py, a generated /etc/passwd, and only the
    leased GPU's device nodes. When the grader is root, bwrap runs as root (so it can bind paths
    such as /root/.pyenv that an unprivileged user cannot reach) and the command runs as a sandbox
    uid with no capabilities: 61000+`slot` when no other run on the machine holds it, else the next
    free one (leases.leased_uid); `rw_binds` are chowned to that uid, the top of each of `ro_binds`
    must be readable by others (ValueError otherwise). Not root: bwrap runs as the grader's user
    in a new user namespace. rlimits mode: a plain process with the same limits, in its own
    session, as the sandbox uid when root can drop to it.

    The envelope: a cgroup (cgroups.py) holds every process of the run on its own cores with its
    memory and pids limits and counts its CPU time; /tmp and /dev/shm are one size-limited tmpfs
    (scratch.py); prlimit(1) sets RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE, no core dumps and a
    per-process RLIMIT_CPU backstop and RLIMIT_AS (no GPU). Every 0.1 s the
    supervisor checks the CPU time against the budget, the wall clock against its cap, the
    memory cgroup's out-of-memory count and how full the run's file systems are. What this
    machine cannot enforce so is listed in SandboxRun.weaknesses.
    """
    if slot < 0:
        raise ValueError(f"Expected a slot >= 0. Received slot={slot}.")
    if not argv or not os.path.isabs(argv[0]):
        raise ValueError(f"Expected argv[0] to be an absolute path. Received argv={argv!r}.")
    if use_bubblewrap is None:
        use_bubblewrap = bubblewrap_available()
    binds = binds_of(ro_binds, rw_binds)
    pool = list(cores) if cores else available_cores()
    host_gpus = devices.gpus() if envelope.gpu > 0 else []
    with leases.allotted(envelope.cpus, pool, envelope.gpu, [gpu.minor for gpu in host_gpus]) as allotment, \
            leases.leased_uid(SANDBOX_UID_BASE + slot, on_lease=_clear_leftovers) as uid:
        gpu = next((g for g in host_gpus if g.minor == allotment.gpu), None)
        return _run(argv, binds, envelope, env, cwd, uid, allotment, bubblewrap=use_bubblewrap, gpu=gpu)


def make_output_folder(folder: Path, envelope: Envelope) -> bool:
    """Makes the empty folder `folder` a file system of the envelope's disk size and file count, for
    a run's /out; False where this process may not mount (it stays a plain, walked folder).
    release_output_folder undoes it."""
    global _mounts_refused
    if _mounts_refused:
        return False
    if not scratch.mount_limited(folder, envelope.disk_bytes, envelope.disk_files, "out"):
        _mounts_refused = True
        return False
    return True


def release_output_folder(folder: Path) -> None:
    """Unmounts a folder make_output_folder mounted (its files are gone); a plain folder is left as it is."""
    scratch.release(folder)


@functools.cache
def _cgroup_layout() -> tuple[cgroups.Layout | None, str]:
    return cgroups.detect()


def _clear_leftovers(uid: int) -> None:
    """Ends what a killed grader left with this uid: processes (an orphan of a grader killed while
    bwrap was still setting up: its --die-with-parent is armed only after setup, bubblewrap issue
    633), its cgroup, and scratch mounts of graders that no longer run."""
    for process in processes.processes():
        if process.uid == uid and process.alive:
            processes.kill(process.pid)
    layout, _ = _cgroup_layout()
    if layout is not None:
        layout.remove_stale(f"sandbox-{uid}")
    scratch.sweep_orphans()


def _run(argv: list[str], binds: list[Bind], envelope: Envelope, env: dict[str, str], cwd: str, uid: int,
         allotment: Allotment, *, bubblewrap: bool, gpu: devices.Gpu | None = None, enforce: bool = True) -> SandboxRun:
    global _mounts_refused
    weaknesses: list[str] = []
    cgroup = None
    layout, why = _cgroup_layout() if enforce else (None, "")
    if layout is not None:
        try:
            cgroup = layout.create(f"sandbox-{uid}", allotment.cores, envelope)
        except cgroups.CgroupError as error:
            why = str(error)
    if enforce and cgroup is None:
        weaknesses.append(f"no cgroup could be used ({why}): memory, processes and cores are limited per "
                          "process (rlimits), and memory outside the processes (tmpfs, shared memory) is not counted")
    elif cgroup is not None and layout.missing:
        weaknesses.append(f"this machine's cgroups lack the {', '.join(layout.missing)} controller: "
                          "that part of the envelope is limited per process only")
    scratch_dir = Path(tempfile.mkdtemp(prefix="sandbox-scratch-"))
    mounted = False
    if enforce and not _mounts_refused:
        mounted = scratch.mount_limited(scratch_dir, envelope.disk_bytes, envelope.disk_files, "tmp")
        _mounts_refused = not mounted
        if mounted:
            for name in ("tmp", "shm"):
                (scratch_dir / name).mkdir(mode=0o1777)
                os.chmod(scratch_dir / name, 0o1777)
    seccomp_fd = None
    if enforce and bubblewrap:
        try:
            seccomp_fd = seccomp.program_fd()
        except seccomp.SeccompUnavailable as error:
            weaknesses.append(f"no system-call filter ({error})")
    plan = Plan(argv=argv, binds=binds, envelope=envelope,
                env=env | devices.framework_env(len(allotment.cores), gpu, envelope.gpu), cwd=cwd, uid=uid,
                cores=allotment.cores, cgroup_procs=cgroup.procs_files if cgroup else [],
                cpuset=cgroup is not None and "cpuset" in layout.parents,
                scratch=scratch_dir if mounted and bubblewrap else None, seccomp_fd=seccomp_fd,
                devices=devices.gpu_nodes(gpu) if gpu else [])
    watch = Watch(envelope, envelope.wall_cap_seconds(len(allotment.cores)), cgroup)
    if mounted:
        watch.mounts["/tmp"] = scratch_dir
    for bind in binds:
        if bind.writable:
            if os.path.ismount(bind.host):
                watch.mounts[bind.target] = bind.host
            else:
                watch.folders[bind.target] = bind.host
    if enforce and watch.folders:
        weaknesses.append(f"{', '.join(watch.folders)} could not be made a size-limited file system "
                          "(files deleted while open are not counted there)")
    private = launch = None
    try:
        if bubblewrap:
            launch = bubblewrap_launch(plan)
        else:
            private = scratch_dir / "tmp" if mounted else Path(tempfile.mkdtemp(prefix="sandbox-"))
            launch = rlimits_launch(plan, private)
            if launch.sandbox_uid is None and os.geteuid() == 0:
                log.warning("rlimits sandbox runs as root: %s or a bind is not readable by others", argv[0])
        outcome: Outcome = supervise(launch, watch)
    finally:
        if launch is None and seccomp_fd is not None:
            os.close(seccomp_fd)  # the launch failed before supervise could pass it on and close it
        if cgroup is not None:
            cgroup.kill()
            cgroup.remove()
        if private is not None and not mounted:
            # Without root, files the command made unremovable (a chmod 0 directory) stay behind; they
            # are inside a mode 0700 directory of the grader's user.
            shutil.rmtree(private, ignore_errors=True)
        scratch.release(scratch_dir)
        shutil.rmtree(scratch_dir, ignore_errors=True)  # empty once unmounted; the rlimits /tmp otherwise
    return SandboxRun(
        status=outcome.status, exit_code=outcome.exit_code, output=outcome.output,
        output_truncated=outcome.output_truncated, wall_seconds=outcome.wall_seconds,
        cpu_seconds=outcome.cpu_seconds, isolation=launch.isolation, envelope=envelope,
        time_limit=outcome.time_limit, wall_cap_seconds=watch.wall_cap_seconds, disk_full=outcome.disk_full,
        cores=allotment.cores, gpu=allotment.gpu, queued_seconds=allotment.queued_seconds,
        memory_peak_bytes=outcome.memory_peak_bytes, weaknesses=tuple(weaknesses) if enforce else (),
    )
