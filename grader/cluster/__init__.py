"""Where a phase's sandbox runs: on this machine (run_sandboxed) or as a Ray task on a cluster's node.

This module imports no Ray: grading and the job loop name the seam (PhaseRunner) and its failures
(NodeLost, PhaseRefused) without needing Ray installed; ray_phases.py, placement.py and
ray_worker.py are the Ray side.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from grader.sandbox import Envelope, SandboxRun


class PhaseRunner(Protocol):
    """Runs one sandboxed command with these folders bound, as run_sandboxed does (same arguments,
    same result); afterwards the writable folders hold what the command wrote there."""

    def __call__(self, argv: list[str], *, ro_binds: dict[Path, str], rw_binds: dict[Path, str],
                 envelope: Envelope, env: dict[str, str], slot: int = 0, use_bubblewrap: bool | None = None,
                 cores: Sequence[int] | None = None) -> SandboxRun: ...


class ClusterRunner(PhaseRunner, Protocol):
    """A PhaseRunner whose sandboxes run on other machines, so a stopping worker cannot kill them
    as its own children: it asks the runner instead."""

    def stop(self) -> None:
        """Ends the sandbox runs in flight; their callers get an exception soon after."""


class NodeLost(RuntimeError):
    """The machine that ran a phase died (or its process did) before the phase's result came back:
    nothing is known about the submission, so its job goes back to the queue for another node."""


class PhaseRefused(RuntimeError):
    """No node of the cluster could ever run the phase (it asks for more than the biggest node has):
    a grader error for the staff, never a hang and never the student's zero."""
