"""What grading produces: one CheckResult per check, gathered in a GradingReport."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from collections.abc import Mapping
from typing import Any, Literal

from grader.pictures.figures import Figures

Status = Literal["passed", "partial", "failed", "error"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check, as the student and the gradebook see it."""

    name: str
    """Short, stable name shown in feedback and used as the key in the grade store."""
    points: float
    """Points earned, 0 <= points <= max_points."""
    max_points: float
    """Points the check is worth."""
    status: Status
    """passed (full points), partial, failed (zero: the code ran but is wrong), or
    error (zero: the code could not be run or observed, e.g. a crash or a timeout)."""
    message: str
    """For the student: what was checked, got/expected, and the likely cause."""
    hidden: bool = False
    """Hidden checks use data the student never sees; `check` (the self-check) skips them."""
    measures: Mapping[str, Any] | None = None
    """What the check measured as plain numbers (Verdict.measures), kept for leaderboards; None for most checks."""

    @classmethod
    def scored(cls, name: str, max_points: float, fraction: float, message: str, hidden: bool = False,
               measures: Mapping[str, Any] | None = None):
        """A result worth `fraction` of `max_points`, with the status that fraction implies."""
        fraction = min(max(fraction, 0.0), 1.0)
        status: Status = "passed" if fraction == 1.0 else "failed" if fraction == 0.0 else "partial"
        return cls(name, round(max_points * fraction, 2), max_points, status, message, hidden, measures)

    @classmethod
    def error(cls, name: str, max_points: float, message: str, hidden: bool = False):
        """Zero points because the submission could not be run or observed for this check."""
        return cls(name, 0.0, max_points, "error", message, hidden)


@dataclass
class GradingReport:
    """Everything one grading run produced for one submission."""

    assignment: str
    student: str | None
    checks: list[CheckResult]
    notes: list[str] = field(default_factory=list)
    """Things the student should know that are not a check: skipped notebook magics,
    weak isolation, the device that graded."""
    device: str = ""
    """What the sandbox computed on, e.g. "CPU: AMD EPYC, 2 cores" or "GPU: NVIDIA H100"."""
    execution_seconds: float = 0.0
    phase_seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each sandbox phase (build, train, predict ...)."""
    phase_cpu_seconds: dict[str, float] = field(default_factory=dict)
    """CPU time (user + system) of each sandbox phase: what its time budget is measured in."""
    phase_queued_seconds: dict[str, float] = field(default_factory=dict)
    """How long each phase waited for its cores before it started: never counted against it."""
    step_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per phase, the probe's own timing of its steps (import, build_model, train ...), as the
    sandbox reported it: for benchmarks, not for grades, since the student's process could lie."""
    grader_version: str = ""
    instructor_log: str = ""
    """Tracebacks and sandbox output for staff; never shown to the student."""
    figures: Figures | None = None
    """What the feedback report draws (grader.pictures): gathered on the trusted side from what the
    phases wrote; None where grading produced none (an unreadable submission)."""

    @property
    def score(self) -> float:
        return round(sum(check.points for check in self.checks), 2)

    @property
    def max_score(self) -> float:
        return round(sum(check.max_points for check in self.checks), 2)

    def to_dict(self) -> dict:
        """Plain JSON: what `--json` prints; the figures as Figures.to_json() writes them."""
        plain = asdict(self.__class__(**{**self.__dict__, "figures": None}))
        figures = None if self.figures is None else self.figures.to_json()
        return plain | {"figures": figures, "score": self.score, "max_score": self.max_score}

    def to_gradescope(self) -> dict:
        """Gradescope's results.json, so the same grader can run inside Gradescope."""
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": round(self.execution_seconds, 1),
            "output": "\n".join(self.notes),
            "tests": [
                {
                    "name": check.name,
                    "score": check.points,
                    "max_score": check.max_points,
                    "status": "passed" if check.status == "passed" else "failed",
                    "output": check.message,
                    # Hidden checks reveal their score only once grades are published.
                    "visibility": "after_published" if check.hidden else "visible",
                }
                for check in self.checks
            ],
        }
