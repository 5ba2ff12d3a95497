"""Control groups: the v2 and v1 layouts on made-up trees, and the real hierarchies of this machine."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.sandbox import cgroups, leases
from grader.sandbox.envelope import Envelope
from grader.sandbox.runner import run_sandboxed

PYTHON = sys.executable
SLOT = 42
LAYOUT, WHY = cgroups.detect() if os.geteuid() == 0 else (None, "not root")
real = pytest.mark.skipif(LAYOUT is None, reason=f"this machine offers no usable cgroups: {WHY}")


def mountinfo_line(point: Path, kind: str, options: str) -> str:
    return f"30 25 0:27 / {point} rw,nosuid,nodev,noexec,relatime shared:9 - {kind} cgroup rw,{options}"


def fake_v2(root: Path, offered: str = "cpuset cpu io memory hugetlb pids rdma misc") -> str:
    root.mkdir()
    (root / "cgroup.controllers").write_text(offered + "\n")
    (root / "cgroup.subtree_control").write_text("")
    return mountinfo_line(root, "cgroup2", "nsdelegate")


def fake_v1(root: Path, controllers=("cpuset", "cpu,cpuacct", "memory", "pids", "freezer")) -> str:
    lines = []
    for options in controllers:
        point = root / options
        point.mkdir(parents=True)
        if "cpuset" in options:
            (point / "cpuset.cpus").write_text("0-7\n")
            (point / "cpuset.mems").write_text("0\n")
        lines.append(mountinfo_line(point, "cgroup", options))
    # The empty unified mount that hybrid systems have beside their v1 hierarchies.
    unified = root / "unified"
    unified.mkdir()
    (unified / "cgroup.controllers").write_text("\n")
    lines.append(mountinfo_line(unified, "cgroup2", "nsdelegate"))
    return "\n".join(lines)


## cgroup v2, on a made-up tree


def test_v2_is_chosen_when_the_unified_hierarchy_offers_the_controllers(tmp_path):
    layout, why = cgroups.detect(fake_v2(tmp_path / "cgroup"))
    assert why == "" and layout.version == 2
    parent = tmp_path / "cgroup" / "cnn-grader"
    assert set(layout.parents) == {"cpuset", "memory", "pids"} and set(layout.parents.values()) == {parent}
    # Controllers are handed down from the top of the hierarchy to the grader's folder.
    assert (tmp_path / "cgroup" / "cgroup.subtree_control").read_text() == "+cpuset +memory +pids"
    assert (parent / "cgroup.subtree_control").read_text() == "+cpuset +memory +pids"
    assert layout.missing == ()


def test_v2_sandbox_cgroup_gets_its_cores_memory_and_processes(tmp_path):
    layout, _ = cgroups.detect(fake_v2(tmp_path / "cgroup"))
    cgroup = layout.create("sandbox-61042", (2, 3), Envelope(memory_bytes=2**30, max_processes=64))
    folder = tmp_path / "cgroup" / "cnn-grader" / "sandbox-61042"
    assert cgroup.folders == [folder]
    assert {name: (folder / name).read_text() for name in ("cpuset.cpus", "memory.max", "memory.oom.group", "pids.max")} \
        == {"cpuset.cpus": "2,3", "memory.max": str(2**30), "memory.oom.group": "1", "pids.max": "64"}
    assert cgroup.procs_files == [folder / "cgroup.procs"]
    (folder / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 1\n")
    (folder / "memory.peak").write_text(f"{2**30}\n")
    (folder / "cgroup.procs").write_text("101\n102\n")
    assert (cgroup.cpu_seconds(), cgroup.oom_kills(), cgroup.memory_peak(), cgroup.pids()) == (2.5, 1, 2**30, [101, 102])


def test_v2_without_the_memory_controller_falls_back_to_v1_or_nothing(tmp_path):
    layout, why = cgroups.detect(fake_v2(tmp_path / "cgroup", offered="cpu io"))
    assert layout is None and "no cgroup hierarchy" in why


def test_a_hierarchy_the_grader_cannot_write_to_means_no_cgroups(tmp_path):
    info = fake_v2(tmp_path / "cgroup")
    # Even root cannot write into a directory: it stands in for a cgroup the grader was not delegated.
    (tmp_path / "cgroup" / "cgroup.subtree_control").unlink()
    (tmp_path / "cgroup" / "cgroup.subtree_control").mkdir()
    layout, why = cgroups.detect(info)
    assert layout is None and "cannot make the grader's cgroups" in why


## cgroup v1, on a made-up tree


def test_v1_hierarchies_are_used_beside_an_empty_unified_mount(tmp_path):
    layout, why = cgroups.detect(fake_v1(tmp_path))
    assert why == "" and layout.version == 1
    assert layout.parents == {"cpuset": tmp_path / "cpuset" / "cnn-grader", "cpuacct": tmp_path / "cpu,cpuacct" / "cnn-grader",
                              "memory": tmp_path / "memory" / "cnn-grader", "pids": tmp_path / "pids" / "cnn-grader",
                              "freezer": tmp_path / "freezer" / "cnn-grader"}
    # A v1 cpuset holds no cores and no memory nodes until told: the grader's folder copies the top's.
    assert (tmp_path / "cpuset" / "cnn-grader" / "cpuset.cpus").read_text() == "0-7"
    assert (tmp_path / "cpuset" / "cnn-grader" / "cpuset.mems").read_text() == "0"


def test_v1_sandbox_cgroup_is_one_folder_per_hierarchy(tmp_path):
    layout, _ = cgroups.detect(fake_v1(tmp_path))
    cgroup = cgroups.Cgroup(layout, "sandbox-61042")
    for folder in cgroup.folders:
        folder.mkdir()
    # The kernel makes these files in every new folder; the made-up tree needs them before the limits.
    memory = tmp_path / "memory" / "cnn-grader" / "sandbox-61042"
    (memory / "memory.memsw.limit_in_bytes").write_text("9223372036854771712\n")
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    layout._set_v1("sandbox-61042", (1,), Envelope(memory_bytes=2**29, max_processes=32))
    assert (tmp_path / "cpuset" / "cnn-grader" / "sandbox-61042" / "cpuset.cpus").read_text() == "1"
    assert (tmp_path / "cpuset" / "cnn-grader" / "sandbox-61042" / "cpuset.mems").read_text() == "0"
    assert (memory / "memory.limit_in_bytes").read_text() == str(2**29)
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == str(2**29), "no swap either"
    assert (tmp_path / "pids" / "cnn-grader" / "sandbox-61042" / "pids.max").read_text() == "32"
    assert len(cgroup.procs_files) == 5 and cgroup.oom_kills() == 2
    (tmp_path / "cpu,cpuacct" / "cnn-grader" / "sandbox-61042" / "cpuacct.usage").write_text("1500000000\n")
    assert cgroup.cpu_seconds() == 1.5


def test_v1_without_pids_reports_what_is_missing(tmp_path):
    layout, _ = cgroups.detect(fake_v1(tmp_path, controllers=("cpuset", "cpuacct", "memory")))
    assert layout.missing == ("pids",)


## This machine's hierarchies


@real
def test_this_machine_has_every_required_controller():
    assert LAYOUT.missing == (), LAYOUT


@real
def test_a_run_is_pinned_to_its_cores_and_cannot_widen_them():
    result = run_sandboxed([PYTHON, "-c", textwrap.dedent("""
        import os
        before = sorted(os.sched_getaffinity(0))
        try:
            os.sched_setaffinity(0, range(os.cpu_count()))
        except OSError as error:
            pass
        print(before, sorted(os.sched_getaffinity(0)), os.environ["OMP_NUM_THREADS"], os.environ["TF_NUM_INTRAOP_THREADS"])
    """)], ro_binds={}, rw_binds={}, envelope=Envelope(cpus=1), env={}, slot=SLOT)
    core = list(result.cores)
    assert result.output == f"{core} {core} 1 1\n"


@real
@pytest.mark.parametrize("what, code", [
    pytest.param("tmpfs pages", "chunk = b'x' * 2**20\nwith open('/dev/shm/fill', 'wb') as f:\n"
                 "    for _ in range(200): f.write(chunk)", id="tmpfs"),
    pytest.param("an unmapped memfd", "import os; fd = os.memfd_create('fill'); "
                 "[os.write(fd, b'x' * 2**20) for _ in range(200)]", id="memfd"),
    pytest.param("processes that each stay under the address-space limit", textwrap.dedent("""
        import os, time
        for _ in range(3):
            if os.fork() == 0:
                block = b"x" * (60 * 2**20)
                time.sleep(60)
        time.sleep(60)
    """), id="processes"),
])
def test_memory_outside_the_processes_counts_against_the_limit(what, code):
    result = run_sandboxed([PYTHON, "-c", code], ro_binds={}, rw_binds={},
                           envelope=Envelope(memory_bytes=128 * 2**20, seconds=60), env={}, slot=SLOT)
    assert result.status == "memory", f"{what}: {result.status} {result.output[-500:]}"


@real
def test_a_run_leaves_no_cgroup_behind():
    result = run_sandboxed([PYTHON, "-c", "print('ok')"], ro_binds={}, rw_binds={}, envelope=Envelope(), env={}, slot=SLOT)
    assert result.output == "ok\n"
    left = [folder for parent in LAYOUT.parents.values() for folder in parent.glob("sandbox-*")
            if folder.name == f"sandbox-{leases.SANDBOX_UID_BASE + SLOT}"]
    assert left == []


@real
def test_a_cgroup_left_by_a_killed_grader_is_emptied_when_its_uid_is_leased_again():
    uid = leases.SANDBOX_UID_BASE + SLOT
    stale = LAYOUT.create(f"sandbox-{uid}", (0,), Envelope())
    sleeper = subprocess.Popen(["sh", "-c", " ".join(f"echo $$ > {p};" for p in stale.procs_files) + " exec sleep 300"])
    for _ in range(100):
        if sleeper.pid in stale.pids():
            break
        time.sleep(0.01)
    assert sleeper.pid in stale.pids()
    result = run_sandboxed([PYTHON, "-c", "print('ok')"], ro_binds={}, rw_binds={}, envelope=Envelope(), env={}, slot=SLOT)
    assert result.output == "ok\n"
    assert sleeper.wait(timeout=10) == -9
