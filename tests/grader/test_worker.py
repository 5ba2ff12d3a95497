"""The queue worker: grading what is queued, grader faults, lost claims, heartbeats and a clean stop."""

import io
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from grader.config import REPO_ROOT, Config
from grader.intake import Artifact, from_path
from grader.jobs import GRADER_FAILED
from grader.results import CheckResult, GradingReport
from grader.store import Gradebook
from grader.worker import Worker, serve

REFERENCE = (REPO_ROOT / "reference" / "conv_ops.py").read_bytes()
SYNTAX_ERROR = (REPO_ROOT / "tests" / "fixtures" / "submissions" / "syntax_error.py").read_bytes()


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(db_url=f"sqlite:///{tmp_path / 'grades.db'}", use_keras_download=False,
                  secret_path=tmp_path / "secret")


@pytest.fixture
def gradebook(config):
    with Gradebook(config.db_url) as book:
        yield book


def queue(gradebook: Gradebook, student: str, assignment: str, artifact: Artifact | tuple[str, bytes]) -> int:
    """Stores and queues a submission as an upload would; returns its id."""
    if isinstance(artifact, tuple):
        artifact = Artifact.of(*artifact)
    submission_id, _ = gradebook.add_submission(student, assignment, artifact, submitted_at=datetime.now(timezone.utc),
                                                time_source="received")
    return submission_id


def zipped_folder(tmp_path: Path, name: str, files: dict[str, bytes]) -> Artifact:
    folder = tmp_path / "folders" / name
    folder.mkdir(parents=True)
    for file_name, content in files.items():
        (folder / file_name).write_bytes(content)
    return from_path(folder, max_bytes=2**20)  # what `grade-all` stores for a folder: NAME.zip


def process_tree() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process on the machine."""
    tree = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # exited while the list was read
        tree[int(name)] = (int(fields[1]), fields[0].decode())
    return tree


def descendants(pid: int) -> set[int]:
    tree = process_tree()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, (parent, _) in tree.items() if parent in frontier} - found
        found |= frontier
    return found


def still_running(pids: set[int]) -> set[int]:
    """Those of `pids` that are alive; a zombie (dead, waiting for a parent to reap it) is not."""
    return {pid for pid, (_, state) in process_tree().items() if pid in pids and state not in ("Z", "X")}


def test_once_grades_the_queue_and_a_broken_submission_scores_zero(config, gradebook, tmp_path):
    ids = {student: queue(gradebook, student, "conv_ops", ("conv_ops.py", REFERENCE))
           for student in ("s001", "s002", "s003")}
    ids["broken"] = queue(gradebook, "broken", "conv_ops", ("conv_ops.py", SYNTAX_ERROR))
    folder = zipped_folder(tmp_path, "s004", {"conv_ops.py": REFERENCE})
    ids["s004"] = queue(gradebook, "s004", "conv_ops", folder)
    ids["lost"] = queue(gradebook, "lost", "no_such_assignment", ("a.py", b"x = 1\n"))
    out = io.StringIO()

    started = time.perf_counter()
    assert serve(config, threads=3, once=True, out=out) == 0
    print(f"graded 6 submissions with 3 threads in {time.perf_counter() - started:.1f} s")

    stored = {student: gradebook.submission(i) for student, i in ids.items()}
    for student in ("s001", "s002", "s003", "s004"):
        assert (stored[student].status, stored[student].score) == ("done", 30.0), stored[student].notes
    assert (stored["broken"].status, stored["broken"].score, stored["broken"].max_score) == ("done", 0.0, 30.0)
    assert "line 7" in gradebook.check_results(ids["broken"])[0].message
    assert (stored["lost"].status, stored["lost"].score) == ("error", None)
    assert "does not know the assignment 'no_such_assignment'" in stored["lost"].notes[0]
    assert {(s.claimed_by, s.lease_expires_at, s.attempts) for s in stored.values()} == {(None, None, 1)}
    lines = out.getvalue().splitlines()
    assert len(lines) == 6
    assert sorted(line.split(" in ")[0] for line in lines if "30/30" in line) == [
        f"{student} conv_ops: 30/30" for student in ("s001", "s002", "s003", "s004")]
    assert any(line.startswith("broken conv_ops: 0/30 in ") for line in lines)


def test_a_grader_fault_is_a_grader_error_and_the_batch_goes_on(config, gradebook, monkeypatch):
    ids = [queue(gradebook, s, "conv_ops", ("conv_ops.py", REFERENCE)) for s in ("s001", "s002")]

    def broken_grade(*args, **kwargs):
        raise RuntimeError("the probe's observations could not be read")

    monkeypatch.setattr("grader.jobs.grade", broken_grade)
    out = io.StringIO()
    assert serve(config, once=True, out=out) == 0

    for submission_id in ids:
        stored = gradebook.submission(submission_id)
        assert (stored.status, stored.score, stored.notes) == ("error", None, (GRADER_FAILED,))
        assert "RuntimeError: the probe's observations could not be read" in stored.instructor_log
    assert out.getvalue().count("grader error, RuntimeError") == 2


def test_a_result_is_not_recorded_once_the_claim_is_lost(config, gradebook, monkeypatch):
    job = queue(gradebook, "s001", "conv_ops", ("conv_ops.py", REFERENCE))

    def grade_while_the_instructor_requeues(submission, assignment, config, **kwargs):
        gradebook.requeue(job)
        return GradingReport("conv_ops", "s001", [CheckResult.scored("runs", 1.0, 1.0, "ok")], grader_version="v1")

    monkeypatch.setattr("grader.jobs.grade", grade_while_the_instructor_requeues)
    out = io.StringIO()
    worker = Worker(gradebook, config, once=True, out=out)
    # One claim only: the requeued job would otherwise come round again.
    monkeypatch.setattr(gradebook, "claim_next", _first_calls(gradebook.claim_next, 1))
    assert worker.run() == 0

    assert "not recorded" in out.getvalue()
    assert gradebook.submission(job).status == "queued"


def test_the_heartbeat_keeps_the_claim_while_grading_takes_longer_than_the_lease(tmp_path, monkeypatch):
    config = Config(db_url=f"sqlite:///{tmp_path / 'grades.db'}", lease_seconds=0.6, secret_path=tmp_path / "s")
    with Gradebook(config.db_url) as gradebook:
        job = queue(gradebook, "s001", "conv_ops", ("conv_ops.py", REFERENCE))
        taken_over = []

        def slow_grade(submission, assignment, config, **kwargs):
            for _ in range(4):  # 2 s: more than three leases
                time.sleep(0.5)
                taken_over.append(gradebook.claim_next("intruder", 60.0))
            return GradingReport("conv_ops", "s001", [CheckResult.scored("runs", 1.0, 1.0, "ok")],
                                 grader_version="v1")

        monkeypatch.setattr("grader.jobs.grade", slow_grade)
        assert serve(config, once=True, out=io.StringIO()) == 0

        assert taken_over == [None] * 4
        stored = gradebook.submission(job)
        assert (stored.status, stored.attempts, stored.score) == ("done", 1, 1.0)


def test_sigint_stops_the_worker_and_hands_the_job_back(config, gradebook, tmp_path):
    sleeper = b"import time\n\ntime.sleep(30)  # a slow import\n\n" + REFERENCE
    job = queue(gradebook, "slow", "conv_ops", ("conv_ops.py", sleeper))
    env = {**os.environ, "GRADER_SECRET": "test", "GRADER_KERAS_DOWNLOAD": "0"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "grader", "worker", "--db", config.db_url, "--poll", "0.2"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not descendants(worker.pid):  # until the sandbox has started
            assert time.monotonic() < deadline and worker.poll() is None, worker.communicate()[0]
            time.sleep(0.1)
        time.sleep(1.0)  # well inside the student's import by now
        sandbox = descendants(worker.pid)
        assert gradebook.submission(job).status == "grading"

        stopped_at = time.monotonic()
        worker.send_signal(signal.SIGINT)
        output = worker.communicate(timeout=15)[0]
        seconds = time.monotonic() - stopped_at
    finally:
        worker.kill()
    print(f"the worker exited {seconds:.2f} s after SIGINT")

    assert worker.returncode == 0, output
    assert seconds < 5, output
    assert "Stopped by SIGINT: handed submission 1 back to the queue." in output
    stored = gradebook.submission(job)
    assert (stored.status, stored.attempts, stored.claimed_by, stored.score) == ("queued", 0, None, None)
    assert still_running(sandbox) == set(), "the sandbox outlived the worker"


def test_bad_worker_arguments_are_refused(config, gradebook):
    with pytest.raises(ValueError, match="workers=0"):
        Worker(gradebook, config, threads=0)
    with pytest.raises(ValueError, match="poll=0"):
        Worker(gradebook, config, poll_seconds=0)


def _first_calls(function, n):
    """`function` for its first n calls; None after that."""
    calls = []

    def limited(*args, **kwargs):
        calls.append(1)
        return function(*args, **kwargs) if len(calls) <= n else None

    return limited
