"""grade_job: the one way a claimed submission is graded; grader faults are grader errors, never zeros."""

import shutil
from datetime import datetime, timezone

import pytest

import grader.intake.artifact
import grader.jobs
from grader.config import REPO_ROOT, Config
from grader.intake import Artifact
from grader.jobs import GRADER_FAILED, grade_job
from grader.results import CheckResult, GradingReport
from grader.store import Gradebook
from grader.submission import ReaderUnavailable

REFERENCE = (REPO_ROOT / "reference" / "conv_ops.py").read_bytes()
WHEN = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(db_url=f"sqlite:///{tmp_path / 'grades.db'}", use_keras_download=False, secret_path=tmp_path / "s")


@pytest.fixture
def gradebook(config):
    with Gradebook(config.db_url) as book:
        yield book


def claimed(gradebook: Gradebook, artifact: Artifact, source: str = "manifest"):
    submission_id, _ = gradebook.add_submission("s01", "conv_ops", artifact, submitted_at=WHEN, time_source=source)
    return gradebook.claim(submission_id, "test:1:0", 60)


def test_the_stored_bytes_are_graded_and_every_grading_reads_the_same_artifact(config, gradebook):
    job = claimed(gradebook, Artifact.of("conv_ops.py", REFERENCE))
    first = grade_job(gradebook, job, config, slot=0, worker_id="test:1:0")
    again = grade_job(gradebook, gradebook.claim(job.submission.id, "test:1:0", 60), config, slot=0,
                      worker_id="test:1:0")
    assert (first.state, again.state) == ("recorded", "recorded")
    assert first.report.score == again.report.score == 30.0
    assert [g.id for g in gradebook.gradings(job.submission.id)] == [first.grading_id, again.grading_id]
    assert first.report.notes[0] == "Submitted 2026-12-01T08:00+00:00 (from manifest.csv)."


def test_a_reader_that_cannot_start_is_a_grader_error_not_a_zero(config, gradebook, monkeypatch):
    def unavailable(*args, **kwargs):
        raise ReaderUnavailable("The grader could not start reading conv_ops.py.")

    monkeypatch.setattr(grader.intake.artifact, "read_submission", unavailable)
    job = claimed(gradebook, Artifact.of("conv_ops.py", REFERENCE))
    outcome = grade_job(gradebook, job, config, slot=0, worker_id="test:1:0")
    stored = gradebook.submission(job.submission.id)
    assert (outcome.state, stored.status, stored.score, stored.notes) == ("error", "error", None, (GRADER_FAILED,))
    assert "ReaderUnavailable" in stored.instructor_log


def test_bytes_the_reader_refuses_score_zero_with_its_sentence(config, gradebook):
    job = claimed(gradebook, Artifact.of("hw.py", b"def conv2d(:\n"))
    outcome = grade_job(gradebook, job, config, slot=0, worker_id="test:1:0")
    assert (outcome.state, outcome.report.score) == ("recorded", 0.0)
    assert all("syntax" in check.message.lower() for check in gradebook.check_results(job.submission.id))


def test_a_claim_taken_over_meanwhile_is_not_recorded(config, gradebook, monkeypatch):
    job = claimed(gradebook, Artifact.of("conv_ops.py", REFERENCE))
    real_grade = grader.jobs.grade

    def grade_while_someone_takes_over(*args, **kwargs):
        gradebook.claim(job.submission.id, "other:2:0", 60)
        return real_grade(*args, **kwargs)

    monkeypatch.setattr(grader.jobs, "grade", grade_while_someone_takes_over)
    outcome = grade_job(gradebook, job, config, slot=0, worker_id="test:1:0")
    assert outcome.state == "lost" and "not recorded" in outcome.line
    assert gradebook.gradings(job.submission.id) == []


def test_a_folder_stored_under_its_bare_name_by_an_old_gradebook_is_read_as_the_zip_it_is():
    artifact = Artifact.stored("s05_lin_na", "zip", b"PK...", "0" * 64)
    assert (artifact.filename, artifact.kind) == ("s05_lin_na.zip", "zip")
    assert Artifact.stored("hw.PY", "py", b"x", "0" * 64).filename == "hw.PY"


def test_the_folder_a_legacy_gradebook_holds_is_graded_from_its_zip(tmp_path, monkeypatch):
    legacy = tmp_path / "legacy.sqlite"
    shutil.copy(REPO_ROOT / "tests" / "fixtures" / "gradebooks" / "legacy-2026-12-01.sqlite", legacy)
    config = Config(db_url=f"sqlite:///{legacy}", use_keras_download=False, secret_path=tmp_path / "s")
    loaded = []

    def grade_without_training(submission, assignment, config, **kwargs):
        loaded.append(submission)
        return GradingReport(assignment.name, None, [CheckResult.scored("reads", 1.0, 1.0, "ok")], grader_version="t")

    monkeypatch.setattr(grader.jobs, "grade", grade_without_training)
    with Gradebook(config.db_url) as gradebook:
        job = gradebook.claim(2, "test:1:0", 60)
        assert (job.submission.filename, job.submission.kind) == ("s05_lin_na", "zip")
        outcome = grade_job(gradebook, job, config, slot=0, worker_id="test:1:0")
    assert outcome.state == "recorded"
    assert "build_lenet5" in loaded[0].defined_functions
