"""What the store's tests build submissions and reports from."""

from datetime import datetime, timezone

from grader.intake import Artifact
from grader.results import CheckResult, GradingReport

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


def submit(gradebook, student="s001", assignment="lenet5", content=b"model = build()\n", filename="lenet5.py",
           submitted_at=None, time_source="received", status="queued"):
    """add_submission of `content` as `filename`; (submission id, created)."""
    return gradebook.add_submission(student, assignment, Artifact.of(filename, content),
                                    submitted_at=submitted_at or datetime.now(timezone.utc),
                                    time_source=time_source, status=status)


def report(version="v1", assignment="lenet5", points=(2.0, 3.0, 0.0)):
    """Three checks worth 5 each, scored `points`."""
    names = ("builds", "output_shape", "accuracy")
    checks = [CheckResult.scored(name, 5.0, p / 5.0, f"{name}: {p}/5") for name, p in zip(names, points)]
    return GradingReport(assignment, "s001", checks, notes=["ran on CPU"], device="CPU: test",
                         execution_seconds=1.5, grader_version=version, instructor_log="log " + version)
