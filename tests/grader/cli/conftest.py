"""What the command-line tests share: a gradebook and a course file of the test's own."""

import pytest

COURSE = """
timezone = "Asia/Shanghai"

[assignments.conv_ops]
opens = "2026-11-16T08:00:00+08:00"
due = "2026-11-30T23:59:00+08:00"
late_penalty_per_day = 0.10
late_until = "2026-12-05T23:59:00+08:00"
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A gradebook and course file of the test's own; what `python -m grader` reads from the environment."""
    for name in ("GRADER_COURSE", "GRADER_CLOCK_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRADER_SECRET", "test-secret")
    monkeypatch.setenv("GRADER_KERAS_DOWNLOAD", "0")
    (tmp_path / "course.toml").write_text(COURSE)
    db = f"sqlite:///{tmp_path / 'grades.db'}"
    return ["--db", db, "--course", str(tmp_path / "course.toml")], db
