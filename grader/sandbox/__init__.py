"""Runs untrusted code in a sandboxed process inside a resource envelope, and reads back only plain data it wrote.

launch.py builds the command lines (bubblewrap, rlimits); the envelope is enforced by cgroups.py
(cores, memory, processes, CPU time), scratch.py (size-limited /tmp, /dev/shm and /out), seccomp.py
(the system-call policy) and devices.py (GPU nodes, framework threads); leases.py shares uids,
cores and GPUs among every grader on the machine; processes.py and supervise.py watch, end and
capture a run; runner.py is the front that puts them together.
"""

from grader.sandbox.envelope import Envelope, parse_size
from grader.sandbox.observations import ObservationError, read_array, read_json
from grader.sandbox.runner import (
    SandboxRun,
    available_cores,
    bubblewrap_available,
    make_output_folder,
    release_output_folder,
    run_sandboxed,
)

__all__ = ["Envelope", "ObservationError", "SandboxRun", "available_cores", "bubblewrap_available",
           "make_output_folder", "parse_size", "read_array", "read_json", "release_output_folder", "run_sandboxed"]
