"""What an assignment is to the grader: sandbox phases to run, then checks with their points."""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np

from grader.config import REPO_ROOT

ASSIGNMENTS_DIR = REPO_ROOT / "assignments"
# The student's code runs in the probe's process, so a malformed observation means it interfered.
TAMPERED = ("Likely cause: your code changed what the grader records while it runs your code (the results "
            "it writes, or its own code that runs beside yours); let the grader run and write its results.")
ERROR_FIELDS = ("type", "message", "traceback")
"""What the probe records of each exception, all strings (grader/probe/driver.py)."""
# A frame of the student's module once grading has named it as the student knows it
# (Submission.student_traceback): "  cell 7, line 3, in build_lenet5" or "  line 130, in build_lenet5".
_STUDENT_FRAME = re.compile(r"  (?:cell \d+, )?line \d+, in ([A-Za-z_]\w{0,79}|<module>)")
SHOWN_ONCE = "the error is shown once, at the top"
# What Python says when the probe calls a function the student's module lacks; the report's notes
# already say which functions are missing.
_MISSING_FUNCTION = re.compile(r"module 'submission' has no attribute '([A-Za-z_]\w{0,79})'")


@dataclass(frozen=True)
class RaisedError:
    """An exception the student's code raised in one step of the probe."""

    step: str
    """The probe's step (an internal name, never shown to the student)."""
    kind: str
    """The exception's class name: "NotImplementedError"."""
    message: str
    traceback: str
    """The frames of the student's file, as Submission.student_traceback names them."""

    def raiser(self, functions: tuple[str, ...] = ()) -> str:
        """Who raised, in the student's words: "build_lenet5()", "importing your file" or "your code".

        The outermost frame of the student's file: the function the grader called, not the helper
        deep inside it. Without one (the probe refused what a function returned), the step, when
        it is one of the student's `functions`.
        """
        if self.step == "import":
            return "importing your file"
        frames = [frame[1] for line in self.traceback.split("\n") if (frame := _STUDENT_FRAME.fullmatch(line))]
        if frames:
            return "importing your file" if frames[0] == "<module>" else f"{frames[0]}()"
        return f"{self.step}()" if self.step in functions else "your code"

    def not_checked(self, functions: tuple[str, ...] = ()) -> str:
        """The one line of each check this error stopped: "Not checked: build_lenet5() raised ..."."""
        if self.kind == "AttributeError" and (missing := _MISSING_FUNCTION.fullmatch(self.message)):
            return f"Not checked: your file does not define {missing[1]}()."
        return f"Not checked: {self.raiser(functions)} raised {self.kind} ({SHOWN_ONCE})."

    def note(self, functions: tuple[str, ...] = ()) -> str | None:
        """The error in full, for the report's notes, where it appears once; None for a missing
        function, which the notes name already."""
        if self.kind == "AttributeError" and _MISSING_FUNCTION.fullmatch(self.message):
            return None
        raiser = self.raiser(functions)
        where = {"importing your file": " when the grader imported your file", "your code": ""}.get(raiser, f" in {raiser}")
        return f"Your code raised an error{where}, so the checks that need it were not run:\n{self}"

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}\n{self.traceback}".strip()


@dataclass(frozen=True)
class Verdict:
    """What a check concluded: the fraction of its points earned and why."""

    fraction: float
    """1.0 full points, 0.0 none, anything between is partial credit."""
    message: str
    """For the student: got/expected and the likely cause."""
    measures: Mapping[str, Any] | None = None
    """Plain numbers the check measured that a later view ranks or aggregates, e.g. an accuracy
    check's {"correct": 1931, "total": 2000, "public_correct": 968, "public_total": 1000}."""


@dataclass
class PhaseOutcome:
    """What one sandbox phase left behind, as the trusted side read it."""

    name: str
    ran: bool
    """False when the phase was not run (a self-check skips hidden phases)."""
    observations: dict[str, Any]
    """observations.json, already parsed; empty when the phase wrote nothing usable."""
    out_dir: Path | None
    """Where the phase's arrays lie; read them with grader.sandbox.observations.read_array."""
    failure: str | None = None
    """Why the phase gave no usable observations, in words for the student, or None."""
    seconds: float = 0.0

    def error_of(self, step: str) -> str | None:
        """The student's exception during `step` of the probe, formatted for feedback, or None.

        Never raises: malformed "errors" (see common_keys_problem) count as no error here.
        """
        error = self.raised(step)
        return None if error is None else str(error)

    def raised(self, step: str) -> RaisedError | None:
        """The student's exception during `step` of the probe, or None; never raises, as error_of."""
        errors = self.observations.get("errors") if isinstance(self.observations, dict) else None
        error = errors.get(step) if isinstance(errors, dict) else None
        if not isinstance(error, dict):
            return None
        kind, message, where = (error.get(k) for k in ERROR_FIELDS)
        return RaisedError(str(step), kind if isinstance(kind, str) else "Error",
                           message if isinstance(message, str) else "", where if isinstance(where, str) else "")

    def all_raised(self) -> list[RaisedError]:
        """Every exception the probe recorded in this phase, in the order it recorded them."""
        errors = self.observations.get("errors") if isinstance(self.observations, dict) else None
        found = [self.raised(step) for step in errors] if isinstance(errors, dict) else []
        return [error for error in found if error is not None]


def describe_json(value: Any) -> str:
    """A JSON value in a few words for feedback: "a string ('many')", "true", "an object", "NaN"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"the integer {value}" if abs(value) < 10**20 else "an integer of more than 20 digits"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"the number {value:g}" if math.isfinite(value) else f"{'-' if value < 0 else ''}Infinity"
    if isinstance(value, str):
        return f"a string ({value[:40] + '...' if len(value) > 40 else value!r})" if value else "an empty string"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) > 1 else ''}" if value else "an empty list"
    if isinstance(value, dict):
        return "an object" if value else "an empty object"
    return type(value).__name__


def is_number(value: Any) -> bool:
    """An int (not a bool: JSON's true is no number) or a finite float."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


COMMON_KEYS = {
    "errors": "the errors your code raised",
    "seconds": "how long each step of the grader took",
    "phase": "which phase ran",
    "wall_seconds": "how long the phase took",
    "device": "the device your code ran on",
}
"""The keys the probe's driver writes in every phase, in the student's words: no message names them."""
WHAT_YOUR_CODE_DID = "The grader cannot use its record of what your code did"


def _errors_problem(errors: Any) -> str | None:
    if not isinstance(errors, dict):
        return f"{COMMON_KEYS['errors']} are {describe_json(errors)}; expected an object with one error per step"
    for error in errors.values():
        if not isinstance(error, dict):
            return (f"one of {COMMON_KEYS['errors']} is {describe_json(error)}; expected an object with the "
                    "type, message and traceback of an exception")
        for key in ERROR_FIELDS:
            if key in error and not isinstance(error[key], str):
                return (f"one of {COMMON_KEYS['errors']} has a {key} that is {describe_json(error[key])}; "
                        "expected a string")
    return None


def _seconds_problem(seconds: Any) -> str | None:
    if not isinstance(seconds, dict):
        return f"{COMMON_KEYS['seconds']} is {describe_json(seconds)}; expected an object with one time per step"
    for value in seconds.values():
        if not is_number(value):
            return f"{COMMON_KEYS['seconds']}: one time is {describe_json(value)}; expected a finite number"
    return None


def common_keys_problem(observations: Any) -> str | None:
    """What is malformed in the keys that the probe's driver writes in every phase, or None.

    The student's code runs in the probe's process and can overwrite observations.json with any
    JSON. The driver writes "errors" (step -> {type, message, traceback}, all strings),
    "seconds" (step -> number), "phase" (a string), "wall_seconds" (a number) and, in model
    assignments, "device" (a string). An absent key is no problem here: a check that needs an
    observation says so when it is missing. The message names each key in words (COMMON_KEYS).
    """
    if not isinstance(observations, dict):
        return f"{WHAT_YOUR_CODE_DID}: it holds {describe_json(observations)}; expected an object. {TAMPERED}"
    problems = [_errors_problem(observations.get("errors", {})), _seconds_problem(observations.get("seconds", {}))]
    for key, expected, ok in (("phase", "a string", lambda v: isinstance(v, str)),
                              ("wall_seconds", "a finite number", is_number),
                              ("device", "a string", lambda v: isinstance(v, str))):
        if key in observations and not ok(observations[key]):
            problems.append(f"{COMMON_KEYS[key]} is {describe_json(observations[key])}; expected {expected}")
    problems = [p for p in problems if p]
    if not problems:
        return None
    return f"{WHAT_YOUR_CODE_DID}: " + "; ".join(problems) + f". {TAMPERED}"


@dataclass
class Evidence:
    """Everything a check may look at: the phases' observations and the trusted side's own data."""

    phases: dict[str, PhaseOutcome]
    secrets: dict[str, Any] = field(default_factory=dict)
    """Data that never entered the sandbox, e.g. the hidden labels."""
    functions: tuple[str, ...] = ()
    """The functions the student implements (Assignment.functions), for messages that name them."""


CheckFunction = Callable[[Evidence], Verdict]


@dataclass(frozen=True)
class Check:
    """One line of an assignment's grading table."""

    name: str
    points: float
    run: CheckFunction
    needs: tuple[str, ...]
    """Phases whose observations the check reads; if one failed, the check scores zero
    with that phase's failure as the reason."""
    hidden: bool = False
    """Uses data the student never sees; the self-check skips it."""


@dataclass(frozen=True)
class Phase:
    """One step of the assignment's probe, in a fresh sandbox run (or sharing one: `joins_previous`)."""

    name: str
    seconds: float
    """The phase's time budget: seconds of work on its cores, counted as CPU time (see
    grader.sandbox.Envelope: the wait for cores and other runs' work are not in it). `--timeout`
    overrides it."""
    hidden: bool = False
    """Needs hidden data or produces what only hidden checks read; the self-check skips it."""
    inputs: Callable[[Any], dict[str, np.ndarray | Path | dict]] | None = None
    """Given the grading context, what to put in the phase's input folder: arrays become
    .npy files, paths are copied, dicts become the probe's JSON arguments."""
    cpus: int | None = None
    """Cores the phase runs on, alone among sandboxes; None keeps Config.envelope's. `--cpus` overrides it."""
    memory_bytes: int | None = None
    """Its memory limit; None keeps Config.envelope's. `--memory` overrides it."""
    gpu: float | None = None
    """The share of one GPU it asks for where the machine has one (0.25: a quarter); None: none."""
    joins_previous: bool = False
    """In a full grading, runs in the same sandbox run as the phase before it, after it (one
    interpreter start and framework import fewer). Only for a phase that sees no hidden data and
    needs nothing the earlier phase wrote: the train phase joins build. The self-check, which
    skips hidden phases, runs the earlier one alone."""


@dataclass(frozen=True)
class ExpectedLayer:
    """What the assignment expects of one named layer; None where it expects nothing of that."""

    output_shape: list | None = None
    """[None, 28, 28, 6]."""
    trainable_params: int | None = None


@dataclass(frozen=True)
class Assignment:
    """An assignment: what students implement, how it is run, what is checked."""

    name: str
    title: str
    functions: tuple[str, ...]
    """The functions the submission must define (a missing one costs the checks that need it)."""
    phases: tuple[Phase, ...]
    checks: tuple[Check, ...]
    probe: Path
    """The assignment's probe module: runs inside the sandbox, next to the student's code."""
    expected_layers: Mapping[str, ExpectedLayer] = field(default_factory=dict)
    """What the assignment expects of each named layer, for the report's layer table; the checks
    that grade shapes and parameters are built from the same table."""
    differences: Callable[[Evidence], tuple] | None = None
    """For the report's heat maps: the wrong numeric answers (grader.pictures.figures.Difference)
    the checks saw, e.g. a conv2d output beside the expected one; None where there are none."""

    @property
    def max_points(self) -> float:
        return sum(check.points for check in self.checks)

    def public_points(self) -> float:
        return sum(check.points for check in self.checks if not check.hidden)


def assignment_names() -> list[str]:
    return sorted(p.parent.name for p in ASSIGNMENTS_DIR.glob("*/checks.py"))


def load_assignment(name: str) -> Assignment:
    """Imports assignments/<name>/checks.py (trusted code of the course staff) and returns its ASSIGNMENT."""
    if name not in assignment_names():
        raise ValueError(f"Unknown assignment {name!r}. Expected one of: {', '.join(assignment_names())}.")
    return importlib.import_module(f"assignments.{name}.checks").ASSIGNMENT
