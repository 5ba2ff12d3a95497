"""Same code, same grade: the reference digit adder graded twice at once on this machine, and once alone.

Before the envelope, two copies graded side by side on two cores shared them, and one of them ran
out of its wall-clock limit: 20/20 and 5/20 for byte-identical files. Now the train phase has two
cores of its own (the other copy waits for them, unbilled) and its budget is CPU time.
"""

import json
import os
import subprocess
import sys

import pytest

from grader.config import REPO_ROOT
from grader.store import Gradebook

ADDER = REPO_ROOT / "reference" / "digit_adder.py"


def grader(*args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "GRADER_KERAS_DOWNLOAD": "0"}
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=REPO_ROOT, env=environment,
                          capture_output=True, text=True, timeout=1800)


@pytest.mark.slow
def test_the_reference_adder_gets_full_marks_alone_and_beside_a_copy_of_itself(tmp_path):
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    together = tmp_path / "together"
    together.mkdir()
    for student in ("s01_first_copy", "s02_second_copy"):
        (together / f"{student}.py").write_bytes(ADDER.read_bytes())
    (tmp_path / "s03_alone.py").write_bytes(ADDER.read_bytes())

    side_by_side = grader("grade-all", str(together), "-a", "digit_adder", "--workers", "2", "--db", url)
    assert side_by_side.returncode == 0, side_by_side.stderr
    alone = grader("grade", str(tmp_path / "s03_alone.py"), "-a", "digit_adder", "--db", url, "--json")
    assert alone.returncode == 0, alone.stderr

    with Gradebook(url) as gradebook:
        scores = {row.student_id: (row.score, row.max_score) for row in gradebook.finished()}
        logs = {row.student_id: row.instructor_log for row in gradebook.finished()}
    assert scores == {"s01_first_copy": (20.0, 20.0), "s02_second_copy": (20.0, 20.0), "s03_alone": (20.0, 20.0)}, \
        side_by_side.stderr + json.dumps(json.loads(alone.stdout)["tests"], indent=1)
    # The copies did share the machine: one build+train run (one sandbox) waited for the other's two cores.
    waits = [float(line.split("waited ")[1].split(" s")[0]) for student in ("s01_first_copy", "s02_second_copy")
             for line in logs[student].splitlines() if line.startswith("== phase build+train")]
    assert len(waits) == 2 and max(waits) > 10, waits
