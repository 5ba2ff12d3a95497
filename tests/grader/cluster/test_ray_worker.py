"""`python -m grader worker --ray local --once`: a one-machine Ray grades the queue and stops."""

import pytest

from grader import cli
from grader.config import REPO_ROOT
from grader.store import Gradebook

pytest.importorskip("ray")
EXAMPLES = REPO_ROOT / "examples" / "submissions" / "conv_ops"


@pytest.mark.slow
def test_worker_on_a_local_ray_grades_the_queued_class_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRADER_SECRET", "test-secret")
    monkeypatch.setenv("GRADER_KERAS_DOWNLOAD", "0")
    monkeypatch.delenv("GRADER_COURSE", raising=False)
    db = f"sqlite:///{tmp_path / 'grades.db'}"
    assert cli.main(["queue", str(EXAMPLES), "-a", "conv_ops", "--db", db]) == 0
    assert cli.main(["worker", "--ray", "local", "--once", "--workers", "2", "--db", db]) == 0
    err = capsys.readouterr().err
    assert "Ray cluster local: 1 live nodes" in err and "Queue empty: graded 7 submissions" in err
    with Gradebook(db) as gradebook:
        assert {(s.status, len(gradebook.gradings(s.id))) for s in gradebook.submissions()} == {("done", 1)}
