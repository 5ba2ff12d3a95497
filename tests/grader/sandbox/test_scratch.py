"""Size-limited scratch file systems: the kernel counts every block and inode, and a killed grader's are swept."""

import os

import pytest

from grader.sandbox import scratch
from grader.sandbox.processes import start_time

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def limited(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    assert scratch.mount_limited(folder, 4 * 2**20, 100, "test")
    yield folder
    scratch.release(folder)


def test_a_file_deleted_while_open_still_counts(limited):
    with open(limited / "hidden", "wb") as handle:
        os.unlink(limited / "hidden")
        with pytest.raises(OSError, match="No space left"):
            for _ in range(8):
                handle.write(b"x" * 2**20)
                handle.flush()
        assert scratch.usage(limited).full
    assert not scratch.usage(limited).full, "closing the last handle frees it"


def test_inodes_run_out_before_the_disk_does(limited):
    with pytest.raises(OSError, match="No space left"):
        for number in range(1000):
            (limited / f"f{number}").touch()
    assert number == 100
    assert scratch.usage(limited).full and scratch.usage(limited).used_bytes < 2**20


def test_release_unmounts_and_the_files_are_gone(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    assert scratch.mount_limited(folder, 2**20, 10, "test")
    (folder / "kept").write_text("x")
    scratch.release(folder)
    assert not os.path.ismount(folder) and list(folder.iterdir()) == []
    scratch.release(folder)  # a plain folder: nothing to do


def test_the_mounts_of_a_grader_that_no_longer_runs_are_swept(tmp_path):
    mine, orphan = tmp_path / "mine", tmp_path / "orphan"
    mine.mkdir()
    orphan.mkdir()
    assert scratch.mount_limited(mine, 2**20, 10, "test")
    dead = 4_000_000  # above pid_max: no process has it
    scratch._mount_tmpfs(f"{scratch.SOURCE_PREFIX}:{dead}:1:out", orphan, "size=1m")
    try:
        assert scratch.sweep_orphans() == [orphan]
        assert os.path.ismount(mine) and not os.path.ismount(orphan)
    finally:
        scratch.release(mine)
        scratch.release(orphan)


def test_a_mount_names_its_grader_by_pid_and_start_time(limited):
    lines = [line for line in open("/proc/self/mountinfo") if f" {limited} " in line]
    assert f"{scratch.SOURCE_PREFIX}:{os.getpid()}:{start_time(os.getpid())}:test" in lines[0]
