"""Reusable checks: each builder returns a function from Evidence to a Verdict."""

from typing import Any

from grader.assignment import Evidence


class NotObserved(Exception):
    """What a check needs was never observed; the message tells the student why."""


def observed(evidence: Evidence, phase: str, key: str, step: str | None = None) -> Any:
    """The observation `key` of `phase`, or NotObserved naming the student's error in `step`."""
    outcome = evidence.phases.get(phase)
    if outcome is None or not outcome.ran:
        raise NotObserved(f"The {phase} phase did not run.")
    if outcome.failure:
        raise NotObserved(outcome.failure)
    error = outcome.error_of(step or key) or outcome.error_of("import")
    if error:
        raise NotObserved(f"Your code raised an error:\n{error}")
    if key not in outcome.observations:
        raise NotObserved(f"The grader found no {key.replace('_', ' ')} in what your code produced.")
    return outcome.observations[key]


def fmt_shape(shape) -> str:
    """[None, 28, 28, 4] -> "(None, 28, 28, 4)", as Keras prints shapes."""
    if shape is None:
        return "unknown"
    if shape and isinstance(shape[0], list):
        return "[" + ", ".join(fmt_shape(s) for s in shape) + "]"
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"
