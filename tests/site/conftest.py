"""Gradebooks for the site's tests: an empty one and a small graded class where GRADER_DB_URL points, a report's
figures made by hand, a course file and a clock the test controls."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.runtime.media_file_manager import MediaFileManager

from grader.assignment import load_assignment
from grader.intake import Artifact
from grader.pictures.figures import FeatureMaps, Figures, LayerRow, LearningCurves, RobustnessCurve
from grader.results import CheckResult, GradingReport
from grader.store import Gradebook

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT_NAME = "<script>alert(1)</script>"
IMG_FILENAME = "<img src=x onerror=alert(1)>.py"
HTML_MESSAGE = "Layer 'conv1': got <b>(None, 24, 24, 4)</b>, expected (None, 28, 28, 4)."
IMG_LAYER = "<img src=x onerror=alert(1)>"
"""A layer name Keras accepts (it refuses only "/") that a browser would run as HTML."""
SITE_ENV = ("GRADER_DB_URL", "GRADER_INSTRUCTOR_PASSWORD", "GRADER_RATE_LIMIT", "GRADER_RATE_WINDOW_S",
            "GRADER_UPLOAD_MAX_MB", "GRADER_COURSE", "GRADER_CLOCK_FILE")
SEEDED_AT = datetime(2025, 12, 1, 12, 0, tzinfo=timezone.utc)
"""When every seeded submission arrived: 20:00 in Asia/Shanghai, the test course's timezone."""
ADDER_DUE = datetime(2025, 12, 10, 23, 59, tzinfo=timezone(timedelta(hours=8)))
BEFORE_DUE = datetime(2025, 12, 5, 12, 0, tzinfo=timezone.utc)
AFTER_DUE = datetime(2025, 12, 11, 12, 0, tzinfo=timezone.utc)
COURSE = f"""
timezone = "Asia/Shanghai"

[assignments.conv_ops]
due = "{(SEEDED_AT - timedelta(hours=27)).isoformat()}"   # every seeded conv_ops is late by 1 day 3 h
late_penalty_per_day = 0.10

[assignments.digit_adder]
due = "{ADDER_DUE.isoformat()}"
release = "after_due"
"""
"""The test course: conv_ops was due 27 h before the class submitted, the digit adder is due on 10 December."""

# (student id, display name, {assignment: {check index: fraction of its points earned}})
CLASS = (
    ("s001", "Ada Lovelace", {"conv_ops": {}, "digit_adder": {}}),                     # 30 + 20 = 50
    ("s002", "Alan Turing", {"conv_ops": {5: 0.0, 13: 0.0}, "digit_adder": {2: 0.6}}),  # 25 + 14 = 39
    ("s003", SCRIPT_NAME, {"conv_ops": {0: 0.0, 1: 0.0, 9: 0.0, 13: 0.0}}),            # 18
)
TOTALS = {"s001": 50, "s002": 39, "s003": 18, "s004": 0}
# The digit adder's hidden accuracy as the check measures it, of 2,000 pairs with 1,000 public: on the
# public half the two adders cannot be told apart (tied), on the private half they can.
ADDER_MEASURES = {
    "s001": {"correct": 1960, "total": 2000, "public_correct": 985, "public_total": 1000},
    "s002": {"correct": 1875, "total": 2000, "public_correct": 975, "public_total": 1000},
}


@dataclass
class SeededClass:
    """The populated gradebook and what the tests need to know about it."""

    gradebook: Gradebook
    url: str
    tokens: dict[str, str] = field(default_factory=dict)
    """Upload token per student id."""
    submissions: dict[tuple[str, str], int] = field(default_factory=dict)
    """Submission id per (student id, assignment)."""

    def pseudonyms(self) -> dict[str, str]:
        return {student.id: student.pseudonym for student in self.gradebook.students()}


def report(assignment: str, fractions: dict[int, float], seconds: float, measures: dict | None = None) -> GradingReport:
    """A grading of every check of the assignment: full points unless `fractions` says otherwise; the
    hidden accuracy check (the one that measures) reports `measures`."""
    checks = [CheckResult.scored(check.name, check.points, fractions.get(i, 1.0),
                                 HTML_MESSAGE if fractions.get(i, 1.0) < 1 else f"{check.name}: as expected.",
                                 check.hidden, measures if check.name.startswith("accuracy") else None)
              for i, check in enumerate(load_assignment(assignment).checks)]
    return GradingReport(assignment, None, checks, notes=["Graded on CPU: test."], device="CPU: test",
                         execution_seconds=seconds, grader_version="test-v1", instructor_log="instructor-only log")


def report_figures() -> Figures:
    """A small model's report, made by hand: a layer table with a wrong cell (on "conv1", the layer
    HTML_MESSAGE is about), kernels, feature maps, curves, and the figures of hidden digits
    (confusion matrix, robustness); the differences are missing, with a reason."""
    rng = np.random.default_rng(0)
    digit = np.zeros((2, 28, 28), np.uint8)
    digit[0, 8:20, 12:16] = 255
    digit[1, 11:23, 15:19] = 255
    confusion = np.diag(np.full(10, 90)) + 1
    levels = {"shift": (0, 1, 2, 3, 4), "rotation": (0, 10, 20, 30), "noise": (0, 0.25, 0.5)}
    return Figures(
        layers=(LayerRow("image", "InputLayer", [None, 28, 28, 1], 0),
                LayerRow("conv1", "Conv2D", [None, 24, 24, 4], 104, [None, 28, 28, 4], 104),
                LayerRow(IMG_LAYER, "Dense", [None, 10], 1290, [None, 10], 1000)),
        kernel_layer="conv1", kernels=rng.normal(size=(5, 5, 1, 4)).astype("float32"),
        digit=digit, shift_pixels=(3, 3),
        feature_maps=(FeatureMaps("conv1", "Conv2D", rng.random((24, 24, 4)), rng.random((24, 24, 4)), 4),),
        curves=LearningCurves(loss=(1.2, 0.6, 0.4, 0.35), accuracy=(0.6, 0.8, 0.88, 0.9),
                              val_loss=(1.0, 0.5, 0.45, 0.5), val_accuracy=(0.65, 0.82, 0.86, 0.85),
                              train_size=7200, validation_size=800),
        confusion=confusion,
        robustness=tuple(RobustnessCurve(t, lv, tuple(0.95 - 0.1 * i for i in range(len(lv))), 300)
                         for t, lv in levels.items()),
        reference_robustness=tuple(RobustnessCurve(t, lv, tuple(0.98 - 0.05 * i for i in range(len(lv))), 300)
                                   for t, lv in levels.items()),
        missing={"differences": "this assignment has no worked examples"},
    )


def add(gradebook: Gradebook, student_id: str, assignment: str, filename: str, content: bytes,
        submitted_at: datetime = SEEDED_AT) -> int:
    """Stores an upload as the site does (received at `submitted_at`) and returns its id."""
    submission_id, _ = gradebook.add_submission(student_id, assignment, Artifact.of(filename, content),
                                                submitted_at=submitted_at, time_source="received")
    return submission_id


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    """Each test reads its own gradebook: nothing cached by an earlier test's app may answer."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def media(monkeypatch) -> dict[str, tuple[str, bytes]]:
    """What the page sends the browser as media (st.image's pictures), as (mimetype, bytes) by URL."""
    sent = {}
    original = MediaFileManager.add

    def add(self, data, mimetype, coordinates, *args, **kwargs):
        url = original(self, data, mimetype, coordinates, *args, **kwargs)
        sent[url] = (mimetype, data)
        return url

    monkeypatch.setattr(MediaFileManager, "add", add)
    return sent


@pytest.fixture
def site_env(tmp_path, monkeypatch) -> str:
    """GRADER_DB_URL pointing at a new SQLite file, and no other site setting from the outside."""
    for name in SITE_ENV:
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    monkeypatch.setenv("GRADER_DB_URL", url)
    return url


@pytest.fixture
def empty_gradebook(site_env):
    with Gradebook(site_env) as gradebook:
        yield gradebook


@pytest.fixture
def seeded(empty_gradebook, site_env) -> SeededClass:
    """Three graded students (one named like a script tag, with a file named like an img tag), one whose
    grading failed and who has a submission waiting, and upload tokens for all."""
    gradebook = empty_gradebook
    seeded = SeededClass(gradebook, site_env)
    for number, (student_id, name, gradings) in enumerate(CLASS):
        gradebook.ensure_student(student_id, name)
        for assignment, fractions in gradings.items():
            filename = IMG_FILENAME if student_id == "s003" else f"{assignment}.py"
            submission_id = add(gradebook, student_id, assignment, filename, f"# {student_id} {assignment}\n".encode())
            gradebook.record_report(submission_id, report(assignment, fractions, seconds=10.0 + 5 * number,
                                                          measures=ADDER_MEASURES.get(student_id)))
            seeded.submissions[student_id, assignment] = submission_id
    gradebook.ensure_student("s004", "Grace Hopper")
    failed = add(gradebook, "s004", "lenet5", "lenet5.py", b"# s004 lenet5\n")
    gradebook.record_error(failed, "The grader failed on this submission.", "Traceback: instructor-only")
    waiting = add(gradebook, "s004", "mnist_convnet", "convnet.py", b"# s004 convnet\n")
    seeded.submissions.update({("s004", "lenet5"): failed, ("s004", "mnist_convnet"): waiting})
    seeded.tokens = {student_id: gradebook.issue_token(student_id) for student_id in TOTALS}
    return seeded


@pytest.fixture
def course(tmp_path, monkeypatch) -> Callable[[str], Path]:
    """Writes a course file (COURSE unless given another text) and points GRADER_COURSE at it."""
    def write(text: str = COURSE) -> Path:
        path = tmp_path / "course.toml"
        path.write_text(text)
        monkeypatch.setenv("GRADER_COURSE", str(path))
        return path
    return write


@pytest.fixture
def clock(tmp_path, monkeypatch) -> Callable[[datetime], None]:
    """Sets the site's "now": writes the time into GRADER_CLOCK_FILE, which the site reads on every use."""
    path = tmp_path / "clock.txt"
    monkeypatch.setenv("GRADER_CLOCK_FILE", str(path))

    def set_to(when: datetime) -> None:
        path.write_text(when.isoformat())
    set_to(SEEDED_AT)
    return set_to
