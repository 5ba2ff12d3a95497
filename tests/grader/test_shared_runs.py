"""Phases that share one sandbox run (Phase.joins_previous): grouping, envelope, and who is blamed."""

import dataclasses
import importlib.util
import json

import pytest

from grader.assignment import Phase
from grader.config import REPO_ROOT, Config
from grader.grading import grade_path, sandbox_runs, shared_envelope
from grader.sandbox import Envelope, bubblewrap_available
from grader.sandbox.observations import ObservationError

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "shared_run"
_spec = importlib.util.spec_from_file_location("shared_run_checks", FIXTURES / "checks.py")
_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_checks)
ASSIGNMENT = _checks.ASSIGNMENT


def phase(name: str, *, hidden: bool = False, joins: bool = False, seconds: float = 3, cpus: int = 1) -> Phase:
    return Phase(name, seconds, hidden=hidden, inputs=lambda context: {"args": {"x": 20}}, cpus=cpus,
                 joins_previous=joins)


BUILD, TRAIN, PREDICT = phase("build"), phase("train", hidden=True, joins=True), phase("predict", hidden=True)
ALONE = phase("alone", joins=True)  # joins_previous on the first phase: there is nothing to join


@pytest.mark.parametrize("phases, self_check, expected", [
    ((BUILD, TRAIN, PREDICT), False, [("build", "train"), ("predict",)]),
    ((BUILD, TRAIN, PREDICT), True, [("build",)]),
    ((ALONE, BUILD), False, [("alone",), ("build",)]),
    ((BUILD, PREDICT, phase("after", joins=True)), True, [("build",), ("after",)]),  # its predecessor skipped
])
def test_phases_are_grouped_into_sandbox_runs(phases, self_check, expected):
    assert [tuple(p.name for p in run) for run in sandbox_runs(phases, self_check)] == expected


def test_a_shared_run_has_the_sum_of_the_cpu_budgets_on_the_most_cores():
    build = Envelope(seconds=60, cpus=1, memory_bytes=2 * 2**30)
    train = Envelope(seconds=300, cpus=2, memory_bytes=4 * 2**30, gpu=0.125)
    shared = shared_envelope([build, train])
    assert (shared.cpus, shared.cpu_seconds, shared.memory_bytes, shared.gpu) == (2, 660, 4 * 2**30, 0.125)


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Config:
    assert bubblewrap_available(), "bubblewrap does not work here: run `make setup`"
    return Config(use_keras_download=False, secret_path=tmp_path_factory.mktemp("secret") / "secret")


def grade(path, config):
    report = grade_path(path, ASSIGNMENT, config, student="test")
    return {check.name: (check.points, check.message) for check in report.checks}, report


def test_both_phases_run_in_one_process_each_with_its_own_inputs_and_record(config):
    checks, report = grade(FIXTURES / "right.py", config)
    assert checks == {"first": (1, "first: got 21, expected 21"), "second": (1, "second: got 40, expected 40")}
    assert report.instructor_log.count("== phase ") == 1 and "== phase first+second:" in report.instructor_log
    assert set(report.phase_seconds) == {"first", "second"}
    assert sum(report.phase_cpu_seconds.values()) > 0


def test_a_timeout_in_the_second_phase_is_its_own_and_keeps_the_first(config):
    checks, _ = grade(FIXTURES / "endless_second.py", config)
    assert checks["first"] == (1, "first: got 21, expected 21")
    points, message = checks["second"]
    assert points == 0 and message.startswith("Your code did not finish the second phase within the time "
                                              "budget that the first and second phases share of 3 s"), message


def test_a_crash_in_the_first_phase_is_blamed_on_it_and_the_second_is_not_run(config):
    checks, _ = grade(FIXTURES / "exit_in_first.py", config)
    assert checks["first"] == (0, "The first phase exited with code 3 before the grader got results."), checks
    assert checks["second"][0] == 0 and checks["second"][1].startswith("Not run, because the first phase failed"), checks


def test_a_result_folder_swapped_for_a_link_to_the_host_is_refused(config, tmp_path):
    planted = tmp_path / "planted"
    planted.mkdir()
    # What the second phase would have written had it answered right.
    (planted / "observations.json").write_text(json.dumps({"errors": {}, "seconds": {}, "answer": 40}))
    submission = tmp_path / "submission.py"
    submission.write_text((FIXTURES / "link_second.py").read_text().replace('"/nonexistent"', repr(str(planted))))
    checks, _ = grade(submission, config)
    assert checks["first"][0] == 1, checks
    assert checks["second"] == (0, "Your code replaced the folder of the second phase's results (/out/second) "
                                   "with a symbolic link or a file; the grader reads only the folder it made."), checks


def test_a_phase_whose_inputs_cannot_be_made_stops_the_run_before_it_starts(config):
    def refuse(context):
        raise ObservationError("the weights are missing")

    first, second = ASSIGNMENT.phases
    assignment = dataclasses.replace(ASSIGNMENT, phases=(first, dataclasses.replace(second, inputs=refuse)))
    report = grade_path(FIXTURES / "right.py", assignment, config, student="test")
    messages = {check.name: check.message for check in report.checks}
    assert messages == {"first": "Not run, because the second phase, which shares its sandbox, could not start: "
                                 "the weights are missing",
                        "second": "The second phase could not start: the weights are missing"}
    assert "== phase " not in report.instructor_log
