"""The sandbox front: exits, the envelope, isolation and clean-up, with tiny Python commands."""

import json
import os
import socket
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from grader.sandbox import leases
from grader.sandbox.envelope import Envelope
from grader.sandbox.leases import SANDBOX_UID_BASE
from grader.sandbox.runner import bubblewrap_available, run_sandboxed

PYTHON = sys.executable  # the venv's python: a symlink into an installation under /root here
SLOT = 40  # far from the low slots a grader running on this machine at the same time would use
SANDBOX_UID = SANDBOX_UID_BASE + SLOT
AS_ROOT = os.geteuid() == 0


@pytest.fixture(scope="module", autouse=True)
def bubblewrap():
    assert bubblewrap_available(), "bubblewrap is missing or cannot start a sandbox here: run make setup"


def run(code, envelope=Envelope(), *, ro=None, rw=None, args=(), bubblewrap=True, **kwargs):
    return run_sandboxed([PYTHON, "-c", textwrap.dedent(code), *args], ro_binds=ro or {}, rw_binds=rw or {},
                         envelope=envelope, env={}, slot=SLOT, use_bubblewrap=bubblewrap, **kwargs)


def quick(seconds: float, **changes) -> Envelope:
    """An envelope whose wall-clock cap is only a little above its budget, so that tests end soon."""
    return Envelope(seconds=seconds, wall_factor=1.0, wall_margin_seconds=1.0, **changes)


def processes_of(uid):
    """Live processes on the host whose real uid is `uid`."""
    found = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{name}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields["Uid"].split()[0]) == uid and fields["State"].strip()[0] not in "ZX":
            found.append(int(name))
    return found


def processes_with(marker):
    """Processes on the host with `marker` in their command line."""
    found = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{name}/cmdline").read_bytes():
                found.append(int(name))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def readable_dir(path: Path) -> Path:
    """pytest's tmp_path lives under a mode 0700 directory; a read-only bind must be readable by others."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    return path


## How a run ends


def test_a_command_that_prints_and_exits_zero_is_ok():
    result = run("""
        import os, resource
        print("hello from", os.getuid())
        print(*(resource.getrlimit(getattr(resource, "RLIMIT_" + name)) for name in ("NPROC", "FSIZE", "CORE", "NOFILE")))
    """, Envelope(max_processes=50, file_bytes=2**20))

    assert (result.status, result.exit_code, result.isolation) == ("ok", 0, "bubblewrap")
    lines = result.output.splitlines()
    assert lines[0] == f"hello from {SANDBOX_UID if AS_ROOT else os.getuid()}"
    assert lines[1] == f"(50, 50) ({2**20}, {2**20}) (0, 0) (1024, 1024)"
    assert not result.output_truncated
    assert 0 < result.wall_seconds < 10
    assert result.describe().startswith("finished in")


def test_nonzero_exit_is_exited_with_its_code():
    result = run("import sys; print('bye'); sys.exit(3)")
    assert (result.status, result.exit_code, result.output) == ("exited", 3, "bye\n")
    assert result.describe() == "exited with code 3"


def test_death_by_signal_is_signalled():
    result = run("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    assert (result.status, result.exit_code) == ("signalled", -11)
    assert result.describe() == "was killed by SIGSEGV (signal 11)"


def test_a_busy_loop_is_stopped_at_its_cpu_time_budget():
    result = run("while True: pass", Envelope(seconds=2))
    assert (result.status, result.exit_code, result.time_limit) == ("timeout", None, "cpu")
    assert 2 <= result.cpu_seconds < 3
    assert result.wall_seconds >= 2, "no more CPU than wall time on one core"
    assert result.describe() == "used its time budget of 2 s on 1 core"


def test_two_busy_processes_on_two_cores_are_stopped_at_the_budget_of_both_cores():
    result = run("""
        import os
        os.fork()  # Python threads would share one core through the GIL; processes use both
        while True:
            pass
    """, Envelope(seconds=2, cpus=2))
    assert (result.status, result.time_limit, len(result.cores)) == ("timeout", "cpu", 2)
    # 2 s on each of 2 cores; how long that takes depends on what else the machine runs, so no wall time.
    assert 4 <= result.cpu_seconds < 6


def test_code_that_waits_is_stopped_at_the_wall_clock_cap_and_its_cpu_time_is_counted():
    # A fixed amount of CPU, not of wall time, so that a busy machine cannot change the answer.
    result = run("""
        import time
        while time.process_time() < 0.3:
            pass
        time.sleep(100)
    """, quick(3))
    assert (result.status, result.time_limit) == ("timeout", "wall")
    assert result.wall_cap_seconds == 4
    assert 4 <= result.wall_seconds < 10
    assert 0.25 <= result.cpu_seconds < 1
    assert result.describe() == "was still running at the wall-clock cap of 4 s"


## The envelope


def test_one_process_growing_past_the_memory_limit_gets_memory_error():
    # The address-space limit turns one process's allocation into an exception its code can report.
    result = run("""
        blocks = []
        while True:
            blocks.append(bytearray(16 * 2**20))
    """, Envelope(memory_bytes=256 * 2**20))
    assert (result.status, result.exit_code) == ("exited", 1)
    assert "MemoryError" in result.output


def test_processes_that_together_exceed_the_memory_limit_are_stopped():
    result = run("""
        import os, time
        for _ in range(3):
            if os.fork() == 0:
                block = b"x" * (150 * 2**20)
                time.sleep(60)
        time.sleep(60)
    """, Envelope(memory_bytes=256 * 2**20, seconds=30))
    assert (result.status, result.exit_code) == ("memory", None)
    assert result.memory_peak_bytes == 256 * 2**20
    assert result.wall_seconds < 15
    assert result.describe() == "ran out of memory (256 MiB)"
    assert processes_of(SANDBOX_UID) == []


@pytest.mark.skipif(not AS_ROOT, reason="RLIMIT_NPROC counts the sandbox alone only when it runs as its own uid")
def test_a_fork_bomb_stops_at_the_process_limit_and_leaves_nothing():
    result = run("""
        import os, time
        forked = 0
        for _ in range(1000):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            forked += 1
        print(forked)
    """, Envelope(max_processes=32, seconds=20))
    assert result.status == "ok", result.output
    assert 0 < int(result.output) < 32
    assert result.wall_seconds < 15, "the sleeping children must not keep the run going"
    assert processes_of(SANDBOX_UID) == []


@pytest.mark.skipif(not AS_ROOT, reason="RLIMIT_NPROC counts the sandbox alone only when it runs as its own uid")
def test_a_spinning_fork_bomb_is_killed_at_the_timeout_and_leaves_nothing():
    result = run("""
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """, Envelope(max_processes=32, seconds=3))
    assert result.status == "timeout"
    assert result.wall_seconds < 10
    assert processes_of(SANDBOX_UID) == []


@pytest.mark.skipif(not AS_ROOT, reason="RLIMIT_NPROC counts the sandbox alone only when it runs as its own uid")
def test_a_thread_bomb_stops_at_the_process_limit():
    result = run("""
        import threading, time
        started = 0
        try:
            for _ in range(1000):
                threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
                started += 1
        except RuntimeError:
            pass
        print(started)
    """, Envelope(max_processes=32, seconds=20))
    assert result.status == "ok", result.output
    assert 0 < int(result.output) < 32
    assert processes_of(SANDBOX_UID) == []


def test_huge_output_is_capped_quickly_keeping_its_start_and_end():
    result = run("""
        import sys
        print("START")
        sys.stdout.write("x" * 50_000_000)
        print()
        print("END")
    """, Envelope(output_bytes=2**20))
    assert result.status == "ok"
    assert result.output_truncated
    assert len(result.output.encode()) <= 2**20
    assert result.output.startswith("START\nxxx")
    assert result.output.endswith("xxx\nEND\n")
    assert "bytes of output dropped" in result.output
    assert result.wall_seconds < 20


def test_a_file_larger_than_the_file_limit_cannot_be_written():
    result = run("""
        try:
            open("/tmp/big", "wb").write(b"x" * 2**21)
        except OSError as error:
            print(error.strerror)
    """, Envelope(file_bytes=2**20))
    assert result.output == "File too large\n"


## Isolation


def test_there_is_no_network_not_even_the_hosts_loopback():
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    result = run("""
        import socket, sys
        try:
            socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
            print("connected")
        except OSError as error:
            print("connect failed:", type(error).__name__)
        try:
            socket.getaddrinfo("example.com", 80)
            print("resolved")
        except OSError as error:
            print("lookup failed:", type(error).__name__)
        print([name for _, name in socket.if_nameindex()])
    """, args=[str(port)])
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()
    assert result.output.splitlines() == ["connect failed: ConnectionRefusedError", "lookup failed: gaierror", "['lo']"]


def test_only_binds_and_the_system_are_visible_and_only_rw_binds_are_writable(tmp_path):
    inputs = readable_dir(tmp_path / "inputs")
    (inputs / "data.txt").write_text("input data")
    out = tmp_path / "out"
    out.mkdir()
    unbound = tmp_path / "unbound"
    unbound.mkdir()
    (unbound / "secret.txt").write_text("not for the sandbox")
    marker = f"sandbox-test-{uuid.uuid4().hex}"
    repo = Path(sys.prefix).parent  # the venv lives in the project; the project must not be visible

    result = run("""
        import json, os, sys
        unbound, marker, repo = sys.argv[1:]

        def attempt(action):
            try:
                return action()
            except OSError as error:
                return type(error).__name__

        print(json.dumps({
            "read unbound": attempt(lambda: open(unbound).read()),
            "read ro": attempt(lambda: open("/inputs/data.txt").read()),
            "write ro": attempt(lambda: open("/inputs/new.txt", "w").write("x")),
            "write rw": attempt(lambda: open("/out/written.txt", "w").write("from the sandbox")),
            "write tmp": attempt(lambda: open("/tmp/" + marker, "w").write("x")),
            "root": attempt(lambda: sorted(os.listdir("/root"))),
            "repo": attempt(lambda: sorted(os.listdir(repo))),
            "etc": attempt(lambda: sorted(os.listdir("/etc"))),
            "top": sorted(os.listdir("/")),
            "env": {k: v for k, v in os.environ.items() if k.startswith("SANDBOX_")},
        }))
    """, ro={inputs: "/inputs"}, rw={out: "/out"}, args=[str(unbound / "secret.txt"), marker, str(repo)])

    assert result.status == "ok", result.output
    seen = json.loads(result.output)
    assert seen["read unbound"] == "FileNotFoundError"
    assert seen["read ro"] == "input data"
    assert seen["write ro"] in ("OSError", "PermissionError")  # EROFS or EACCES
    assert not (inputs / "new.txt").exists()
    assert seen["write rw"] == len("from the sandbox")
    assert (out / "written.txt").read_text() == "from the sandbox"
    assert seen["write tmp"] == 1
    assert not (Path("/tmp") / marker).exists(), "the sandbox's /tmp must be private"
    interpreter_dirs = {Path(p).parts[2] for p in (sys.prefix, sys.base_prefix) if Path(p).is_relative_to("/root")}
    assert seen["root"] == "FileNotFoundError" or set(seen["root"]) <= interpreter_dirs
    assert seen["repo"] == [Path(sys.prefix).name]
    assert set(seen["etc"]) <= {"ld.so.cache", "passwd", "group"}
    system = {"usr", "bin", "lib", "lib64", "sbin", "etc", "proc", "dev", "tmp"}
    assert set(seen["top"]) <= system | {"inputs", "out"} | {Path(p).parts[1] for p in (sys.prefix, sys.base_prefix)}
    assert seen["env"] == {"SANDBOX_INPUTS": "/inputs", "SANDBOX_OUT": "/out"}


@pytest.mark.skipif(not AS_ROOT, reason="only a root grader switches the sandbox to its own uid")
def test_the_sandbox_user_cannot_read_root_only_files_in_a_bind(tmp_path):
    inputs = readable_dir(tmp_path / "inputs")
    (inputs / "answers.txt").write_text("the hidden answers")
    (inputs / "answers.txt").chmod(0o600)
    result = run("""
        try:
            print(open("/inputs/answers.txt").read())
        except OSError as error:
            print(type(error).__name__)
    """, ro={inputs: "/inputs"})
    assert result.output == "PermissionError\n"


@pytest.mark.skipif(not AS_ROOT, reason="only a root grader switches the sandbox to its own uid")
def test_a_read_only_bind_others_cannot_read_is_refused_before_starting(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(ValueError, match="readable by others"):
        run("pass", ro={private: "/inputs"})


def test_a_double_forked_daemon_ignoring_sigterm_does_not_survive_the_run(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    marker = f"sandbox-daemon-{uuid.uuid4().hex}"
    result = run("""
        import os, signal, sys, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                os.execv(sys.executable, [sys.executable, "-c",
                         "import time; open('/out/started', 'w').close(); time.sleep(100)", sys.argv[1]])
            os._exit(0)
        for _ in range(200):
            if os.path.exists("/out/started"):
                break
            time.sleep(0.05)
        print("daemon started" if os.path.exists("/out/started") else "no daemon")
    """, rw={out: "/out"}, args=[marker])

    assert result.output == "daemon started\n"
    assert result.wall_seconds < 20
    assert processes_with(marker) == []


def test_numpy_imports_inside_the_sandbox():
    # The venv and its real installation (here under /root, unreachable by the sandbox user on the
    # host) must both be visible for a compiled extension to load.
    result = run("import numpy, sys; print(numpy.zeros(3).sum(), sys.prefix)")
    assert result.status == "ok", result.output
    assert result.output == f"0.0 {sys.prefix}\n"


def test_bubblewrap_mode_gives_sandbox_paths_in_argv_env_and_cwd(tmp_path):
    probe = readable_dir(tmp_path / "probe")
    (probe / "inside.py").write_text("import os, sys; print(sys.argv[0], os.environ['SANDBOX_PROBE'], os.getcwd())\n")
    result = run_sandboxed([PYTHON, "/probe/inside.py"], ro_binds={probe: "/probe"}, rw_binds={},
                           envelope=Envelope(), env={}, cwd="/probe", slot=SLOT, use_bubblewrap=True)
    assert result.output == "/probe/inside.py /probe /probe\n"


## The rlimits fallback


def test_fallback_runs_with_host_paths_for_the_binds(tmp_path):
    probe = readable_dir(tmp_path / "probe")
    (probe / "inside.py").write_text("import os, sys; print(sys.argv[0], os.environ['SANDBOX_PROBE'], os.getcwd())\n")
    result = run_sandboxed([PYTHON, "/probe/inside.py"], ro_binds={probe: "/probe"}, rw_binds={},
                           envelope=Envelope(), env={}, slot=SLOT, use_bubblewrap=False)

    assert (result.status, result.isolation) == ("ok", "rlimits")
    script, bind, cwd = result.output.split()
    assert (script, bind) == (str(probe / "inside.py"), str(probe))
    assert cwd != "/tmp" and "/sandbox-" in cwd
    assert not Path(cwd).exists(), "the private working directory is removed after the run"


def test_fallback_kills_children_left_in_its_session():
    marker = f"sandbox-orphan-{uuid.uuid4().hex}"
    result = run("""
        import os, sys
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(100)", sys.argv[1]])
        print("parent done")
    """, args=[marker], bubblewrap=False)
    assert result.output == "parent done\n"
    assert processes_with(marker) == []


@pytest.mark.skipif(not (AS_ROOT and os.path.exists("/usr/bin/python3")), reason="needs root and a system python")
def test_fallback_runs_as_the_slots_user_when_the_interpreter_is_reachable():
    # The venv's interpreter under /root is out of that user's reach; the system python is not.
    result = run_sandboxed(["/usr/bin/python3", "-c", "import os; print(os.getuid(), os.getgid(), os.getgroups())"],
                           ro_binds={}, rw_binds={}, envelope=Envelope(), env={}, slot=SLOT, use_bubblewrap=False)
    assert result.output == f"{SANDBOX_UID} {SANDBOX_UID} []\n"


def test_fallback_times_out():
    result = run("while True: pass", Envelope(seconds=2), bubblewrap=False)
    assert (result.status, result.isolation, result.time_limit) == ("timeout", "rlimits", "cpu")
    assert 2 <= result.cpu_seconds < 3


def test_fallback_caps_output():
    result = run("import sys; sys.stdout.write('x' * 20_000_000); print('END')", Envelope(output_bytes=2**16), bubblewrap=False)
    assert (result.status, result.isolation, result.output_truncated) == ("ok", "rlimits", True)
    assert len(result.output.encode()) <= 2**16
    assert result.output.endswith("xEND\n")


## Arguments


@pytest.mark.parametrize("target", ["relative", "/", "/tmp", "/usr/local/x", "/proc/x", "/a/../b"])
def test_bind_targets_must_be_free_absolute_paths(tmp_path, target):
    with pytest.raises(ValueError, match="Expected"):
        run("pass", ro={tmp_path: target})


def test_a_bind_under_the_hosts_tmp_is_reachable_and_tmp_stays_writable(tmp_path):
    # CI clones the project under /tmp, so the virtualenv's mount point sits inside the private /tmp.
    folder = tmp_path / "checkout" / "inputs"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("seen")
    for directory in (tmp_path, tmp_path / "checkout", folder):
        directory.chmod(0o755)
    result = run(f"""
        print(open({str(folder / 'a.txt')!r}).read())
        open("/tmp/scratch", "w").write("ok")
        print("tmp writable")
    """, ro={folder: str(folder)})
    assert result.output == "seen\ntmp writable\n", result.output


def test_a_uid_held_by_another_run_is_not_shared():
    with leases.leased_uid(SANDBOX_UID_BASE + SLOT) as held:
        result = run("import os; print(os.getuid())")
    assert result.status == "ok"
    assert int(result.output) != held, "two concurrent runs would kill each other's processes"


## Where the kernel cannot enforce the envelope


@pytest.fixture
def no_cgroups_no_mounts(monkeypatch):
    from grader.sandbox import runner

    monkeypatch.setattr(runner, "_cgroup_layout", lambda: (None, "not root, and no delegated cgroup"))
    monkeypatch.setattr(runner, "_mounts_refused", True)


def test_without_cgroups_the_old_limits_still_hold_and_the_run_says_it_is_weak(no_cgroups_no_mounts, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = run("""
        import os, time
        for _ in range(3):
            if os.fork() == 0:
                block = b"x" * (150 * 2**20)
                time.sleep(60)
        time.sleep(60)
    """, Envelope(memory_bytes=256 * 2**20, seconds=30), rw={out: "/out"})
    assert result.status == "memory", "the resident-set watchdog still sums the processes"
    assert result.weaknesses == (
        "no cgroup could be used (not root, and no delegated cgroup): memory, processes and cores are limited per "
        "process (rlimits), and memory outside the processes (tmpfs, shared memory) is not counted",
        "/out could not be made a size-limited file system (files deleted while open are not counted there)")


def test_without_cgroups_cpu_time_is_still_the_budget(no_cgroups_no_mounts):
    result = run("while True: pass", Envelope(seconds=2))
    assert (result.status, result.time_limit) == ("timeout", "cpu")
    assert 2 <= result.cpu_seconds < 3
