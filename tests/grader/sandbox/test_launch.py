"""The command lines a run starts with: what each part of the envelope adds, checked without starting them."""

import os
import sys
from pathlib import Path

from grader.sandbox.envelope import Envelope
from grader.sandbox.launch import Plan, bubblewrap_launch, interpreter_roots, rlimits_launch

PYTHON = sys.executable


def plan(**changes) -> Plan:
    return Plan(argv=[PYTHON, "-c", "pass"], binds=[], envelope=Envelope(seconds=60, cpus=2, memory_bytes=2**30),
                env={"OMP_NUM_THREADS": "2"}, cwd="/tmp", uid=61099, cores=(4, 5), **changes)


def after(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_the_launcher_joins_its_cgroups_before_anything_else_runs():
    procs = [Path("/sys/fs/cgroup/memory/cnn-grader/sandbox-61099/cgroup.procs"),
             Path("/sys/fs/cgroup/pids/cnn-grader/sandbox-61099/cgroup.procs")]
    command = bubblewrap_launch(plan(cgroup_procs=procs, cpuset=True)).command
    assert Path(command[0]).name in ("sh", "dash", "bash") and command[1] == "-c"
    assert command[3:7] == ["cnn-grader-enter", *map(str, procs), "--"]
    assert Path(command[6 + 1]).name == "prlimit", "rlimits are set after the cgroups are joined"
    assert "taskset" not in " ".join(command), "the cpuset pins the cores"


def test_without_a_cpuset_taskset_pins_the_cores_and_the_cpu_backstop_follows_the_budget():
    command = bubblewrap_launch(plan()).command
    assert after(command, next(c for c in command if c.endswith("taskset"))) == "--cpu-list"
    assert "4,5" in command
    assert f"--cpu={60 * 2 + 10}" in command
    assert f"--as={2**30}" in command


def test_a_gpu_run_gets_only_its_device_nodes_and_no_address_space_limit():
    nodes = ["/dev/nvidia1", "/dev/nvidiactl", "/dev/nvidia-uvm"]
    command = bubblewrap_launch(plan(devices=nodes)).command
    bound = [command[i + 1] for i, item in enumerate(command) if item == "--dev-bind"]
    assert bound == nodes
    assert not any(item.startswith("--as=") for item in command)


def test_the_seccomp_program_and_the_scratch_mount_replace_bwraps_defaults(tmp_path):
    read_end, write_end = os.pipe()
    os.close(write_end)
    try:
        launch = bubblewrap_launch(plan(seccomp_fd=read_end, scratch=tmp_path))
    finally:
        os.close(read_end)
    command = launch.command
    assert after(command, "--seccomp") == str(read_end) and read_end in launch.pass_fds
    assert command[command.index(str(tmp_path / "tmp")) + 1] == "/tmp"
    assert command[command.index(str(tmp_path / "shm")) + 1] == "/dev/shm"
    assert "--tmpfs" not in command


def test_without_a_scratch_mount_bwrap_makes_size_limited_tmpfs():
    command = bubblewrap_launch(plan()).command
    sizes = [command[i + 1] for i, item in enumerate(command) if item == "--size"]
    assert sizes == [str(512 * 2**20)] * 2


def test_the_rlimits_fallback_uses_the_same_prefix(tmp_path):
    launch = rlimits_launch(plan(), tmp_path)
    assert launch.isolation == "rlimits"
    assert any(Path(item).name == "prlimit" for item in launch.command)
    assert launch.env["TMPDIR"] == str(tmp_path) and launch.env["OMP_NUM_THREADS"] == "2"


def test_a_venv_shows_the_folders_its_pth_files_add_and_nothing_else(tmp_path):
    # The GPU check's venv reaches the GPU image's JAX, which lives in another venv, through a .pth
    # (scripts/gpu_check.sh): the sandbox must show that folder, or `import jax` fails inside it.
    host_site, venv = tmp_path / "host" / "site-packages", tmp_path / "venv"
    host_site.mkdir(parents=True)
    site = venv / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    (venv / "bin").mkdir()
    (venv / "pyvenv.cfg").write_text(f"home = {Path(PYTHON).resolve().parent}\n")
    (site / "host.pth").write_text(f"{host_site}\nimport os; os.environ\n{tmp_path / 'missing' / 'site-packages'}\n"
                                   "relative/site-packages\n")
    # An editable install's .pth names its source tree: a repository with the secret and the gradebook.
    checkout = tmp_path / "checkout"
    (checkout / "var").mkdir(parents=True)
    (site / "__editable__.grader.pth").write_text(f"{checkout}\n")
    roots = interpreter_roots(str(venv / "bin" / "python"))
    assert venv in roots and host_site in roots
    assert not any(part in str(root) for root in roots for part in ("missing", "relative", "checkout"))
