"""What an assignment is to the grader: sandbox phases to run, then checks with their points."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grader.config import REPO_ROOT

ASSIGNMENTS_DIR = REPO_ROOT / "assignments"


@dataclass(frozen=True)
class Verdict:
    """What a check concluded: the fraction of its points earned and why."""

    fraction: float
    """1.0 full points, 0.0 none, anything between is partial credit."""
    message: str
    """For the student: got/expected and the likely cause."""


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
        """The student's exception during `step` of the probe, formatted for feedback, or None."""
        error = self.observations.get("errors", {}).get(step)
        if not isinstance(error, dict):
            return None
        return f"{error.get('type', 'Error')}: {error.get('message', '')}\n{error.get('traceback', '')}".strip()


@dataclass
class Evidence:
    """Everything a check may look at: the phases' observations and the trusted side's own data."""

    phases: dict[str, PhaseOutcome]
    secrets: dict[str, Any] = field(default_factory=dict)
    """Data that never entered the sandbox, e.g. the hidden labels."""


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
    """One fresh sandbox run of the assignment's probe."""

    name: str
    wall_seconds: float
    """Default wall-clock limit; `--timeout` overrides it."""
    hidden: bool = False
    """Needs hidden data or produces what only hidden checks read; the self-check skips it."""
    inputs: Callable[[Any], dict[str, np.ndarray | Path | dict]] | None = None
    """Given the grading context, what to put in the phase's input folder: arrays become
    .npy files, paths are copied, dicts become the probe's JSON arguments."""


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
