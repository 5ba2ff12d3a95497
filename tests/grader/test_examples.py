"""The example class in examples/submissions: every check of every example ends as its expected.json says."""

import dataclasses
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.assignment import assignment_names, load_assignment
from grader.config import Config, EnvelopeOverrides
from grader.grading import grade_path
from grader.results import CheckResult, GradingReport

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "submissions"
OUTCOMES = ("full", "zero", "partial", "lost")
WORKERS = 2  # examples graded at once: the course's machines have 2 cores
# Each example of an assignment gets a sandbox slot of its own (two runs in one slot kill each other's
# processes), clear of the CLI's slot 0 and of the sandbox tests' slot 40.
FIRST_SLOT, LAST_SLOT = 30, 39
# A lost check's message must say what went wrong; a failed or partial one in got/expected terms.
EXPLAINS = re.compile(r"\bgot\b|\bexpected\b|likely cause", re.IGNORECASE)


def expected(assignment: str) -> dict[str, dict]:
    """Student id -> check name -> outcome, plus options: _about (what the example shows), _timeout
    (seconds per phase in the self-check), _messages (check name -> text its message must contain)."""
    return json.loads((EXAMPLES / assignment / "expected.json").read_text())


NOT_SUBMISSIONS = ("expected.json", "manifest.csv")  # beside the examples: their outcomes, their students and times


def submission_path(assignment: str, student: str) -> Path:
    """The file, zip or folder whose stem is the student id."""
    folder = EXAMPLES / assignment
    matches = [p for p in folder.iterdir() if p.name not in NOT_SUBMISSIONS and (p.stem if p.is_file() else p.name) == student]
    assert len(matches) == 1, f"expected one submission named {student} in {folder}, found {matches}"
    return matches[0]


def outcomes(entry: dict) -> dict[str, str]:
    return {name: outcome for name, outcome in entry.items() if not name.startswith("_")}


EXAMPLE_IDS = [(assignment, student) for assignment in assignment_names() for student in expected(assignment)]


class Reports:
    """Grades all examples of an assignment when the first of them is asked for, each once per session."""

    def __init__(self, self_check: bool):
        self.self_check = self_check
        self.config = Config.from_env()
        self.cache: dict[str, dict[str, GradingReport | Exception]] = {}

    def of(self, assignment: str, student: str) -> GradingReport:
        if assignment not in self.cache:
            self.cache[assignment] = self._grade_all(assignment)
        report = self.cache[assignment][student]
        if isinstance(report, Exception):
            raise report  # a grader bug: it fails this example's test only
        return report

    def _grade_all(self, assignment: str) -> dict[str, GradingReport | Exception]:
        table = expected(assignment)
        assert FIRST_SLOT + len(table) <= LAST_SLOT + 1, "more examples than sandbox slots"

        def one(index: int, student: str) -> GradingReport | Exception:
            # The self-check of a hanging example stops early; full grading keeps the real limits.
            timeout = table[student].get("_timeout") if self.self_check else None
            config = dataclasses.replace(self.config, overrides=EnvelopeOverrides(seconds=timeout))
            try:
                return grade_path(submission_path(assignment, student), load_assignment(assignment), config,
                             student=student, self_check=self.self_check, slot=FIRST_SLOT + index)
            except Exception as error:  # grade_path() must not raise; keep it for that example's test
                return error

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            return dict(zip(table, pool.map(one, range(len(table)), table)))


@pytest.fixture(scope="module")
def self_checks() -> Reports:
    return Reports(self_check=True)


@pytest.fixture(scope="module")
def full_grades() -> Reports:
    return Reports(self_check=False)


def describe(check: CheckResult) -> str:
    return f"{check.name}: {check.status}, {check.points:g}/{check.max_points:g}\n{check.message}"


def outcome_problem(check: CheckResult, outcome: str) -> str | None:
    """None when `check` ended as `outcome` says, else what happened instead."""
    ok = {
        "full": check.status == "passed" and check.points == check.max_points,
        "zero": check.points == 0,
        "partial": 0 < check.points < check.max_points,
        "lost": check.points < check.max_points,
    }[outcome]
    return None if ok else f"expected {outcome}, got {describe(check)}"


def message_problem(check: CheckResult, must_contain: str | None) -> str | None:
    """None when a lost check's message explains it; full checks need no explanation."""
    if check.points == check.max_points:
        return None
    if not check.message.strip():
        return f"{check.name}: lost points with an empty message"
    if must_contain is not None:
        return None if must_contain in check.message else f"{check.name}: message lacks {must_contain!r}:\n{check.message}"
    if check.status in ("failed", "partial") and not EXPLAINS.search(check.message):
        return f"{check.name}: message says neither got/expected nor a likely cause:\n{check.message}"
    return None


def assert_matches(report: GradingReport, entry: dict) -> None:
    wanted = outcomes(entry)
    messages = entry.get("_messages", {})
    problems = [p for check in report.checks if (p := outcome_problem(check, wanted[check.name]))]
    problems += [p for check in report.checks if (p := message_problem(check, messages.get(check.name)))]
    assert not problems, "\n\n".join(problems) + "\n\nnotes: " + " | ".join(report.notes)


@pytest.mark.parametrize("assignment", assignment_names())
def test_expected_json_lists_every_example_and_every_check(assignment):
    table = expected(assignment)
    on_disk = {p.stem if p.is_file() else p.name for p in (EXAMPLES / assignment).iterdir()
               if p.name not in NOT_SUBMISSIONS and not p.name.startswith(".")}
    assert set(table) == on_disk
    names = {check.name for check in load_assignment(assignment).checks}
    for student, entry in table.items():
        assert set(outcomes(entry)) == names, student
        assert set(outcomes(entry).values()) <= set(OUTCOMES), student
        assert set(entry.get("_messages", {})) <= names, student


@pytest.mark.parametrize(("assignment", "student"), EXAMPLE_IDS, ids=[f"{a}-{s}" for a, s in EXAMPLE_IDS])
def test_self_check(self_checks, assignment, student):
    report = self_checks.of(assignment, student)
    public = [c.name for c in load_assignment(assignment).checks if not c.hidden]
    assert [check.name for check in report.checks] == public
    assert_matches(report, expected(assignment)[student])


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "student"), EXAMPLE_IDS, ids=[f"{a}-{s}" for a, s in EXAMPLE_IDS])
def test_full_grade(full_grades, assignment, student):
    report = full_grades.of(assignment, student)
    assert [check.name for check in report.checks] == [c.name for c in load_assignment(assignment).checks]
    assert_matches(report, expected(assignment)[student])
