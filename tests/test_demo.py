"""`make demo`: the example class queued with its students and times, a course around it, and a site that starts."""

import csv
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, time as clock, timedelta
from pathlib import Path

import pytest

from grader.course import due_for, lateness, load_course
from grader.store import Gradebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import demo_class  # noqa: E402  (scripts/ is not a package)

SETUP_SECONDS = 20
"""The class is set up in about 1 s; the rest is a slow machine's margin."""
SITE_SECONDS = 60
"""The issue's bound for the site to answer; here there is no worker competing for the cores."""
ROSTER = {row["student_id"] for row in csv.DictReader(open(demo_class.ROSTER, newline=""))}
LATE = {("s02_wang_fang", "conv_ops"), ("s02_wang_fang", "mnist_convnet"), ("s07_huang_xin", "mnist_convnet"),
        ("s02_wang_fang", "lenet5")}
"""The late submissions the manifests tell of: each shows a penalty once graded."""


def manifest(assignment: str) -> list[dict[str, str]]:
    with open(demo_class.SUBMISSIONS / assignment / "manifest.csv", newline="") as file:
        return list(csv.DictReader(file))


def demo_env(folder: Path) -> dict[str, str]:
    return os.environ | {"GRADER_DB_URL": f"sqlite:///{folder}/grades.db", "GRADER_COURSE": str(folder / "course.toml")}


def prepare(folder: Path, today=demo_class.CLASS_DAY) -> subprocess.CompletedProcess:
    """scripts/demo_class.py as scripts/demo.sh runs it, dated to `today`, within SETUP_SECONDS."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo_class.py"), "--dir", str(folder),
                             "--today", today.isoformat()],
                            env=demo_env(folder), capture_output=True, text=True, timeout=SETUP_SECONDS)
    assert result.returncode == 0, result.stderr
    assert time.perf_counter() - started < SETUP_SECONDS
    return result


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A demo folder whose class is dated to CLASS_DAY: every time exactly as committed."""
    folder = tmp_path_factory.mktemp("demo")
    prepare(folder)
    return folder


@pytest.mark.parametrize("assignment", demo_class.ASSIGNMENTS)
def test_each_manifest_names_every_example_once_and_leaves_the_examples_alone(assignment):
    folder = demo_class.SUBMISSIONS / assignment
    on_disk = {p.name for p in folder.iterdir()
               if p.name not in ("expected.json", "manifest.csv") and not p.name.startswith(".")}
    rows = manifest(assignment)
    assert sorted(row["file"] for row in rows) == sorted(on_disk)
    assert {row["student"] for row in rows} <= ROSTER
    # Oldest first, as the worker grades them and as an LMS lists them.
    assert [row["submitted_at"] for row in rows] == sorted(row["submitted_at"] for row in rows)


def test_the_class_is_seven_students_with_several_assignments_each():
    assignments: dict[str, set[str]] = {}
    for assignment in demo_class.ASSIGNMENTS:
        for row in manifest(assignment):
            assignments.setdefault(row["student"], set()).add(assignment)
    assert set(assignments) == ROSTER and len(ROSTER) == 7
    assert min(len(done) for done in assignments.values()) >= 3


def test_setup_queues_every_example_with_its_student_and_time(demo):
    with Gradebook(f"sqlite:///{demo}/grades.db", read_only=True) as gradebook:
        stored = {(s.assignment, s.filename): s for s in gradebook.submissions()}
        names = {student.id: student.display_name for student in gradebook.students()}
    wanted = {(assignment, row["file"] + (".zip" if (demo_class.SUBMISSIONS / assignment / row["file"]).is_dir()
                                           else "")): row
              for assignment in demo_class.ASSIGNMENTS for row in manifest(assignment)}
    assert set(stored) == set(wanted)
    for key, row in wanted.items():
        submission = stored[key]
        assert (submission.student_id, submission.status, submission.time_source) == (row["student"], "queued",
                                                                                       "manifest"), key
        assert submission.submitted_at == datetime.fromisoformat(row["submitted_at"]), key
    assert set(names) == ROSTER and names["s02_wang_fang"] == "Wang Fang"


def test_the_course_has_due_dates_past_and_future(demo):
    course = load_course(demo / "course.toml")
    now = datetime.combine(demo_class.CLASS_DAY, clock(0, 1), course.timezone)
    dues = {name: policy.due for name, policy in course.assignments.items()}
    assert set(dues) == set(demo_class.ASSIGNMENTS)
    assert {name for name, due in dues.items() if due < now} == {"conv_ops", "mnist_convnet", "lenet5"}
    assert min(due for due in dues.values() if due > now) - now > timedelta(days=2)
    # Even at one minute past midnight of the class day, every submission is already in.
    assert max(datetime.fromisoformat(row["submitted_at"]) for a in demo_class.ASSIGNMENTS
               for row in manifest(a)) < now


def test_some_submissions_are_late_and_one_is_on_time_by_its_extension(demo):
    course = load_course(demo / "course.toml")
    with Gradebook(f"sqlite:///{demo}/grades.db", read_only=True) as gradebook:
        submissions, extensions = gradebook.submissions(), gradebook.extensions()
    assert [(e.student_id, e.assignment) for e in extensions] == [("s05_liu_yang", "lenet5")]

    def late(submission, granted) -> bool:
        due = due_for(course, submission.student_id, submission.assignment, granted)
        return lateness(submission.submitted_at, due, course.policy(submission.assignment).late_penalty_per_day).late

    assert {(s.student_id, s.assignment) for s in submissions if late(s, extensions)} == LATE
    without = {(s.student_id, s.assignment) for s in submissions if late(s, [])}
    assert without - LATE == {("s05_liu_yang", "lenet5")}


def test_running_again_queues_nothing_twice_and_shows_the_same_token(demo):
    with Gradebook(f"sqlite:///{demo}/grades.db", read_only=True) as gradebook:
        before = [(s.id, s.content_hash) for s in gradebook.submissions()]
    first_token = token_of(demo)
    output = prepare(demo).stdout
    with Gradebook(f"sqlite:///{demo}/grades.db", read_only=True) as gradebook:
        assert [(s.id, s.content_hash) for s in gradebook.submissions()] == before
        assert gradebook.student_for_token(first_token) == demo_class.SHOWN_STUDENT
        assert len(gradebook.extensions()) == 1
    assert first_token in output


def test_the_class_is_dated_to_its_first_day_by_whole_days(tmp_path):
    day = demo_class.CLASS_DAY + timedelta(days=40)
    prepare(tmp_path, today=day)
    prepare(tmp_path, today=day + timedelta(days=3))  # a later run keeps the class where the gradebook has it
    with Gradebook(f"sqlite:///{tmp_path}/grades.db", read_only=True) as gradebook:
        stored = {(s.assignment, s.student_id, s.submitted_at) for s in gradebook.submissions()}
    committed = {(a, row["student"], datetime.fromisoformat(row["submitted_at"]) + timedelta(days=40))
                 for a in demo_class.ASSIGNMENTS for row in manifest(a)}
    assert stored == committed
    template, moved = load_course(demo_class.COURSE_TEMPLATE), load_course(tmp_path / "course.toml")
    for name, policy in template.assignments.items():
        assert moved.policy(name).due == policy.due + timedelta(days=40), name
        assert moved.policy(name).opens == policy.opens + timedelta(days=40), name


def test_refuses_to_run_without_the_demo_gradebook(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_DB_URL", "GRADER_COURSE")}
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo_class.py"), "--dir", str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=SETUP_SECONDS)
    assert result.returncode != 0
    assert "GRADER_DB_URL and GRADER_COURSE" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_demo_sh_serves_the_site_and_prints_a_token_and_a_password(tmp_path):
    port = free_port()
    env = os.environ | {"DEMO_DIR": str(tmp_path), "DEMO_PORT": str(port), "DEMO_WORKERS": "0"}
    env.pop("GRADER_INSTRUCTOR_PASSWORD", None)
    banner, seconds = serve_demo(env, port)
    assert seconds < SITE_SECONDS
    password = (tmp_path / "instructor-password").read_text().strip()
    assert f"password (this run only): {password}" in banner and len(password) >= 16
    assert token_of(tmp_path) in banner
    # A second run: the same student token, a new password.
    banner, _ = serve_demo(env, port)
    assert token_of(tmp_path) in banner
    assert (tmp_path / "instructor-password").read_text().strip() != password


def serve_demo(env: dict[str, str], port: int) -> tuple[str, float]:
    """Runs scripts/demo.sh until its banner says the site answers, checks that it does, then stops it as
    Ctrl-C does; returns the output up to the banner's end and the seconds until the site answered."""
    started = time.perf_counter()
    # As a terminal starts it: with SIGINT at its default. A test run started in the background (CI)
    # inherits SIGINT ignored, and bash cannot trap a signal that was ignored when it started.
    demo = subprocess.Popen([str(ROOT / "scripts" / "demo.sh"), sys.executable], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        banner = read_banner(demo, SITE_SECONDS)
        seconds = time.perf_counter() - started
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as response:
            assert response.read() == b"ok"
        # Ctrl-C in a terminal signals the script (background jobs ignore it); it stops the site, exits 0.
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=20) == 0
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    return banner, seconds


def read_banner(process: subprocess.Popen, seconds: float) -> str:
    """The demo's output up to the end of its banner, which it prints once the site answers."""
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    text, rules, deadline = [], 0, time.monotonic() + seconds
    while rules < 2:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no banner within {seconds} s:\n" + "".join(text))
        assert line is not None, "the demo ended before its banner:\n" + "".join(text)
        text.append(line)
        rules += line.startswith("=====")
    return "".join(text)


def token_of(folder: Path) -> str:
    with open(folder / "tokens.csv", newline="") as file:
        return next(row["token"] for row in csv.DictReader(file) if row["student_id"] == demo_class.SHOWN_STUDENT)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
