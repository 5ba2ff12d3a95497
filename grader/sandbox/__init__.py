"""Runs untrusted code in a sandboxed process under limits, and reads back only plain data it wrote."""

from grader.sandbox.limits import Limits
from grader.sandbox.observations import ObservationError, read_array, read_json
from grader.sandbox.runner import SandboxRun, bubblewrap_available, run_sandboxed

__all__ = ["Limits", "ObservationError", "SandboxRun", "bubblewrap_available", "read_array", "read_json", "run_sandboxed"]
