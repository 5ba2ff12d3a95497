"""The assignments' own data agrees with the reference and the course."""

import pytest

from assignments.lenet5 import checks as lenet5_checks
from assignments.mnist_convnet import checks as convnet_checks
from grader.assignment import assignment_names, load_assignment
from reference import lenet5, mnist_convnet


@pytest.mark.parametrize("recipe, reference", [(convnet_checks.RECIPE, mnist_convnet), (lenet5_checks.RECIPE, lenet5)])
def test_the_grader_trains_with_the_reference_recipe(recipe, reference):
    assert recipe == {"epochs": reference.EPOCHS, "batch_size": reference.BATCH_SIZE,
                      "learning_rate": reference.LEARNING_RATE}


def test_the_c3_table_of_the_checks_is_the_reference_table():
    assert [set(maps) for maps in lenet5_checks.C3_TABLE] == [set(maps) for maps in lenet5.C3_TABLE]
    assert sum(len(maps) for maps in lenet5_checks.C3_TABLE) == 60


def test_grading_never_imports_keras_on_the_trusted_side():
    import subprocess
    import sys

    from grader.config import REPO_ROOT

    code = ("import sys\nfrom grader.assignment import assignment_names, load_assignment\n"
            "[load_assignment(n) for n in assignment_names()]\nimport grader.cli\n"
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


@pytest.mark.parametrize("name", assignment_names())
def test_each_assignment_has_a_task_text_and_a_starter(name):
    from grader.config import REPO_ROOT

    folder = REPO_ROOT / "assignments" / name
    text = (folder / "README.md").read_text()
    for check in load_assignment(name).checks:
        assert check.name in text, f"{name}/README.md does not list the check {check.name!r}"
    assert (folder / "starter.py").is_file()
