"""Grader processes started in order to be killed, and what a gradebook must hold after any kill."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from grader.assignment import load_assignment
from grader.config import REPO_ROOT
from grader.grading import grader_version
from grader.intake import Artifact
from grader.store import Gradebook
from grader.store.schema import utcnow

ASSIGNMENT = load_assignment("conv_ops")
VERSION = grader_version(ASSIGNMENT)
CHECK_NAMES = [check.name for check in ASSIGNMENT.checks]
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"
REFERENCE = (REPO_ROOT / "reference" / "conv_ops.py").read_bytes()
WRONG = (SUBMISSIONS / "wrong_conv_ops.py").read_bytes()
SLOW_IMPORT = (SUBMISSIONS / "slow_import_conv_ops.py").read_bytes()


def slowed(content: bytes, seconds: float = 1.0) -> bytes:
    """The submission behind a slow import: a grading that lasts about `seconds` more on any machine,
    so that a kill at a random time lands in the middle of one often enough."""
    return f"import time\n\ntime.sleep({seconds})  # a slow import\n\n".encode() + content


REFERENCE_1S, WRONG_1S = slowed(REFERENCE), slowed(WRONG)
SCORES = {REFERENCE: 30.0, WRONG: 1.0, REFERENCE_1S: 30.0, WRONG_1S: 1.0}
"""What every copy of each submission must score, out of 30."""

GRADED = re.compile(r"\(submission (\d+)\)$")
"""How each line ends that a worker prints for a job it took through grading: recorded, not recorded
(its claim was lost), or a grader error."""

LAUNCHERS = ("sh", "prlimit", "taskset", "bwrap", "setpriv")
"""What a sandbox's command line starts with until the sandboxed command itself runs."""
STARTED_SECONDS = 0.3
"""How long a sandboxed command has run before a kill of its grader counts as a kill mid-grading:
by then bubblewrap has bound the sandbox's life to the grader's (see `sandbox_stage`)."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

PROCESS_SECONDS = 120
"""The longest any grader process of these tests may take: a safety net, never reached when all is well."""


def copy_of(content: bytes, index: int) -> bytes:
    """The submission with a last line of its own: other bytes, so a submission of its own, graded anew."""
    return content + f"\n# copy {index}\n".encode()


def write_class(directory: Path, count: int, kinds: tuple[bytes, ...] = (REFERENCE, WRONG)) -> dict[str, float]:
    """Writes s000.py, s001.py ... cycling through `kinds`, as a class folder for grade-all; returns
    the score each student must get."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = {}
    for index in range(count):
        kind = kinds[index % len(kinds)]
        (directory / f"s{index:03d}.py").write_bytes(copy_of(kind, index))
        expected[f"s{index:03d}"] = SCORES[kind]
    return expected


def queue_class(gradebook: Gradebook, directory: Path) -> dict[str, int]:
    """Queues the class folder's files as the site does, as the same submissions grade-all finds:
    the same student, assignment and bytes. Returns the submission id per student."""
    return {path.stem: queue(gradebook, path.stem, path.read_bytes(), path.name)
            for path in sorted(directory.glob("*.py"))}


def queue(gradebook: Gradebook, student: str, content: bytes, filename: str = "conv_ops.py",
          assignment: str = ASSIGNMENT.name) -> int:
    """Queues the bytes as an upload to the site would be; returns the submission id."""
    return gradebook.add_submission(student, assignment, Artifact.of(filename, content), submitted_at=utcnow(),
                                    time_source="received")[0]


# --- processes ---

def processes() -> dict[tuple[int, int], tuple[int, str]]:
    """(pid, start time) -> (parent pid, command line) of every live process; zombies are dead."""
    found = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()
            command = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited while the list was read
        if fields[0] not in (b"Z", b"X"):
            found[(int(name), int(fields[19]))] = (int(fields[1]), command.strip())
    return found


def sandbox_stage(tree: dict[tuple[int, int], str]) -> str:
    """Where the sandboxes among these processes (a grader's descendants) stand: "running" once a
    sandboxed command (not bubblewrap or prlimit launching it) has run for STARTED_SECONDS, "starting"
    before that, "none" without a sandbox."""
    now = _uptime()
    sandboxed = {key: command for key, command in tree.items() if "/probe/driver.py" in command}
    if not sandboxed:
        return "none"
    if any(Path(command.split()[0]).name not in LAUNCHERS and now - start / CLOCK_TICKS >= STARTED_SECONDS
           for (_, start), command in sandboxed.items()):
        return "running"
    return "starting"


def descendants(pid: int, table: dict | None = None) -> dict[tuple[int, int], str]:
    """(pid, start time) -> command line of every live descendant of `pid` (in `table`, if given)."""
    table = processes() if table is None else table
    found, parents = {}, {pid}
    while parents:
        children = {key: command for key, (parent, command) in table.items()
                    if parent in parents and key not in found}
        found |= children
        parents = {key[0] for key in children}
    return found


class Graders:
    """Grader processes of one test (`python -m grader ...`), each in a process group of its own; when
    the test ends, whatever of them is left is killed and their temporary files are removed.

    Their temporary folders, and so the bind mounts on every sandbox's bwrap command line, lie under a
    folder whose name holds `marker`: a process this test left behind can be found by its command line.
    """

    def __init__(self, db_url: str, lease_seconds: float):
        self.marker = f"stress-{uuid.uuid4().hex[:12]}"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{self.marker}-"))
        self.tmp.chmod(0o755)
        self.env = {**os.environ, "GRADER_DB_URL": db_url, "GRADER_SECRET": "stress", "GRADER_KERAS_DOWNLOAD": "0",
                    "GRADER_LEASE_S": str(lease_seconds), "TMPDIR": str(self.tmp)}
        self.started: list[subprocess.Popen] = []
        self.killed_along: set[tuple[int, int]] = set()
        """The descendants of every process killed so far, as they were at the kill."""
        self.killed_at = 0.0
        """When the last kill happened, in seconds since boot (as process start times are)."""

    def __enter__(self) -> "Graders":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self, *args: str, wrapped: bool = False) -> subprocess.Popen:
        """`python -m grader ARGS` (wrapped: under tests/stress/slow_commit.py); its stdout and stderr
        go to files, read with `output`."""
        number = len(self.started)
        with open(self.tmp / f"{number}.out", "wb") as out, open(self.tmp / f"{number}.err", "wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.stress.slow_commit" if wrapped else "grader", *args],
                cwd=REPO_ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True)
        self.started.append(process)
        return process

    def output(self, process: subprocess.Popen) -> tuple[str, str]:
        """What the process printed so far: (stdout, stderr)."""
        number = self.started.index(process)
        return tuple((self.tmp / f"{number}.{stream}").read_text(errors="replace") for stream in ("out", "err"))

    def run(self, *args: str, timeout: float = PROCESS_SECONDS) -> tuple[str, str]:
        """Runs `python -m grader ARGS` to its end; fails the test unless it exits 0. Returns (stdout, stderr)."""
        process = self.start(*args)
        try:
            status = process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"`grader {' '.join(args)}` still ran after {timeout} s:\n{self.output(process)}")
        out, err = self.output(process)
        assert status == 0, f"`grader {' '.join(args)}` exited {status}:\n{out}\n{err}"
        return out, err

    def wait_for_line(self, process: subprocess.Popen, prefix: str, timeout: float = 60) -> str:
        """The first line of the process's stdout that starts with `prefix`, once it is there."""
        def matching() -> list[str]:
            return [line for line in self.output(process)[0].splitlines() if line.startswith(prefix)]

        self.wait_until(matching, process, timeout)
        return matching()[0]

    def wait_until(self, condition, process: subprocess.Popen, timeout: float = 30.0, poll: float = 0.05):
        """Polls `condition()` until it returns something true, and returns that; fails the test if the
        process exits or `timeout` passes first."""
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            assert process.poll() is None, f"exited {process.returncode}:\n{self.output(process)}"
            assert time.monotonic() < deadline, f"still waiting after {timeout} s:\n{self.output(process)}"
            time.sleep(poll)
        return result

    def kill(self, process: subprocess.Popen) -> str | None:
        """SIGKILLs the process alone, not its group: its sandboxes must end by themselves (bwrap's
        --die-with-parent). Returns where its sandboxes stood at the kill (`sandbox_stage`), or None
        if it had finished already (a failure before the kill fails the test)."""
        tree = descendants(process.pid)
        stage = sandbox_stage(tree)
        self.killed_at = _uptime()
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        status = process.wait(10)
        if status == 0:
            return None  # it finished its work before the kill
        assert status == -signal.SIGKILL, f"exited {status} before the kill:\n{self.output(process)}"
        self.killed_along |= tree.keys()
        return stage

    def left_behind(self, timeout: float = 10.0) -> list[str]:
        """Command lines of the processes still alive after `timeout` that a kill should have ended:
        a descendant of a killed process, any process whose command line holds the marker (a
        sandbox's bwrap names its folders), and their descendants (the sandboxed code)."""
        deadline = time.monotonic() + timeout
        while True:
            alive = self._left_behind()
            if not alive or time.monotonic() > deadline:
                return list(alive.values())
            time.sleep(0.1)

    def orphans_of_a_starting_sandbox(self, timeout: float = 10.0) -> list[str]:
        """After a kill, what it left behind, asserting that all of it is sandboxes that were still
        starting at the kill (test_a_sandbox_that_is_starting_dies_with_its_killed_worker's race:
        no sandboxed command that had run for STARTED_SECONDS); kills those."""
        deadline = time.monotonic() + timeout
        while (left := self._left_behind()) and time.monotonic() < deadline:
            time.sleep(0.1)
        running = {key: command for key, command in left.items()
                   if "/probe/driver.py" not in command
                   or (Path(command.split()[0]).name not in LAUNCHERS
                       and key[1] / CLOCK_TICKS <= self.killed_at - STARTED_SECONDS)}
        assert running == {}, f"left behind by the kill: {sorted(running.values())}"
        self.kill_left_behind()
        return sorted(left.values())

    def kill_left_behind(self) -> None:
        """SIGKILLs every process of this test that a kill should have ended (see `left_behind`)."""
        for pid, _ in self._left_behind():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _left_behind(self) -> dict[tuple[int, int], str]:
        table = processes()
        alive = {key: command for key, (_, command) in table.items()
                 if key in self.killed_along or self.marker in command}
        for key in list(alive):
            alive |= descendants(key[0], table)
        return alive

    def close(self) -> None:
        for process in self.started:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.kill_left_behind()
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- the gradebook ---

def integrity(db_url: str) -> str:
    """SQLite's own check of the whole file: "ok", or what is broken."""
    connection = sqlite3.connect(make_url(db_url).database)
    try:
        return "\n".join(row[0] for row in connection.execute("PRAGMA integrity_check"))
    finally:
        connection.close()


SNAPSHOT_FIELDS = ("id", "status", "attempts", "claimed_by", "lease_expires_at", "score", "max_score",
                   "grader_version", "graded_at", "instructor_log")


def snapshot(db_url: str) -> dict[str, dict]:
    """Per student: the submission's fields and its gradings, each (grader version, status, its
    checks as (position, check name, points)), read through a read-only gradebook as the site would."""
    with Gradebook(db_url, read_only=True) as gradebook:
        return {row.student_id: {
            **{field: getattr(row, field) for field in SNAPSHOT_FIELDS},
            "gradings": [(grading.grader_version, grading.status,
                          [(position, check.name, check.points)
                           for position, check in enumerate(gradebook.check_results(row.id, grading.id))])
                         for grading in gradebook.gradings(row.id)],
        } for row in gradebook.submissions(assignment=ASSIGNMENT.name)}


def check_gradebook(db_url: str, expected: dict[str, float], *, finished: bool,
                    before: dict[str, dict] | None = None) -> dict[str, dict]:
    """Asserts what must hold after any kill, and returns the snapshot it checked.

    - every student has exactly one submission: none lost, none doubled;
    - a submission is done with one grading, of this grader version, with a complete set of check
      rows whose points sum to its score, that score is the one its bytes deserve, and its log shows
      the sandbox run; or it is not done (queued, or grading under some claim) and has no grading at
      all: a killed commit left nothing behind;
    - with `finished`, every submission is done and unclaimed;
    - a submission done in `before` is unchanged: graded once, never again (same graded_at, same rows).
    """
    now = snapshot(db_url)
    assert sorted(now) == sorted(expected), "submissions lost or doubled"
    for student, row in now.items():
        where = f"{student} (submission {row['id']}): {_summary(row)}"
        if row["status"] == "done":
            [(version, status, checks)] = row["gradings"]
            assert (version, status) == (VERSION, "done"), where
            assert [(p, name) for p, name, _ in checks] == list(enumerate(CHECK_NAMES)), where
            assert row["score"] == expected[student] == round(sum(p for _, _, p in checks), 2), where
            assert (row["max_score"], row["grader_version"]) == (ASSIGNMENT.max_points, VERSION), where
            assert (row["claimed_by"], row["lease_expires_at"]) == (None, None), where
            assert "== phase run: " in row["instructor_log"], f"{where}: graded without a sandbox run"
        else:
            assert row["status"] in ("queued", "grading") and not finished, where
            assert row["gradings"] == [] and row["score"] is None, where
    for student, old in (before or {}).items():
        if old["status"] == "done":
            assert (now[student]["graded_at"], now[student]["gradings"]) == (old["graded_at"], old["gradings"]), \
                f"{student} was graded again after it was done: {_summary(old)} -> {_summary(now[student])}"
    return now


def wait_for_leases(db_url: str) -> None:
    """Sleeps until no claim's lease runs any longer: every killed grader's job is free for the taking."""
    with Gradebook(db_url, read_only=True) as gradebook:
        leases = [row.lease_expires_at for row in gradebook.submissions() if row.lease_expires_at is not None]
    if leases:
        seconds = (max(leases) - utcnow()).total_seconds()
        assert seconds < 60, f"a lease runs {seconds:.0f} s more: GRADER_LEASE_S was not applied"
        time.sleep(max(0.0, seconds) + 0.1)


def graded_ids(worker_stdout: str) -> Counter:
    """How often each submission id appears in a worker's lines about the jobs it graded."""
    return Counter(int(match[1]) for line in worker_stdout.splitlines() if (match := GRADED.search(line)))


def _summary(row: dict) -> str:
    keys = ("status", "score", "attempts", "claimed_by", "graded_at")
    return ", ".join(f"{key}={row[key]:%H:%M:%S.%f}" if isinstance(row[key], datetime) else f"{key}={row[key]}"
                     for key in keys) + f", gradings {[(version, status) for version, status, _ in row['gradings']]}"


def _uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])
