"""A phase's sandbox as a Ray task: its folders go to a node through the object store, its /out comes back."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ray
import ray.exceptions

from grader.cluster import NodeLost
from grader.cluster.placement import capacities, request_for
from grader.cluster.trees import Tree, pack, unpack
from grader.sandbox import Envelope, SandboxRun, make_output_folder, release_output_folder, run_sandboxed
from grader.sandbox.processes import start_time

log = logging.getLogger(__name__)

NODE_LOST = (ray.exceptions.NodeDiedError, ray.exceptions.WorkerCrashedError, ray.exceptions.ObjectLostError,
             ray.exceptions.LocalRayletDiedError, ray.exceptions.OutOfMemoryError)
"""What Ray raises when the node or the process running a task is gone (killed, out of memory,
removed); ObjectLostError covers OwnerDiedError and a result whose node died before it was fetched.
Ray's own out-of-memory killer acts on the whole node's memory, which the sandbox's own limit
(its memory cgroup) keeps a submission from reaching: so it counts as the node's failure."""


@dataclass(frozen=True)
class NodeRun:
    """What a node needs to run one sandboxed command, besides the folders' content."""

    argv: list[str]
    ro_binds: dict[str, str]
    """Sandbox path -> the folder's name on the trusted side (kept on the node, for the rlimits
    mode where the sandbox sees host paths)."""
    rw_binds: dict[str, str]
    envelope: Envelope
    env: dict[str, str]
    slot: int
    use_bubblewrap: bool | None


def run_on_node(run: NodeRun, folders: dict[str, Tree]) -> tuple[SandboxRun, dict[str, Tree]]:
    """On the node: writes the folders, runs the sandbox there (its own machine-wide leases give it
    a free uid and free cores of this node), and returns how it ended and the writable folders' content."""
    from grader.grading import _remove_tree  # deep trees a sandbox left in /out, without recursion

    for folder in leftover_folders():
        _remove_tree(folder)
    root = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-{start_time(os.getpid())}-"))
    ro_binds, rw_binds = {}, {}
    try:
        for binds, names in ((ro_binds, run.ro_binds), (rw_binds, run.rw_binds)):
            for target, name in names.items():
                host = root / name
                host.mkdir()
                if binds is rw_binds:
                    # As on the trusted side: a size-limited file system of its own (grader.sandbox.scratch).
                    make_output_folder(host, run.envelope)
                unpack(folders[target], host)
                binds[host] = target
        result = run_sandboxed(run.argv, ro_binds=ro_binds, rw_binds=rw_binds, envelope=run.envelope, env=run.env,
                               slot=run.slot, use_bubblewrap=run.use_bubblewrap)
        written = {target: pack(host, max_bytes=run.envelope.disk_bytes, max_entries=run.envelope.disk_files)
                   for host, target in rw_binds.items()}
        context = ray.get_runtime_context()
        node = f"Ray node {context.get_node_id()[:12]} ({ray.util.get_node_ip_address()})"
        return dataclasses.replace(result, node=node), written
    finally:
        for host in rw_binds:
            release_output_folder(host)
        _remove_tree(root)


FOLDER_PREFIX = "ray-phase-"
"""A node's phase folders are /tmp/ray-phase-<pid>-<start time>-*: a Ray worker killed mid-phase
(its node removed, its task cancelled) leaves its folder, which a later phase on the node removes."""


def leftover_folders(top: Path = Path(tempfile.gettempdir())) -> list[Path]:
    """The phase folders in `top` of Ray workers that no longer run."""
    leftovers = []
    for folder in top.glob(f"{FOLDER_PREFIX}*-*-*"):
        pid, started = folder.name[len(FOLDER_PREFIX):].split("-")[:2]
        if pid.isdigit() and str(start_time(int(pid))) != started:  # gone, or its pid reused since
            leftovers.append(folder)
    return leftovers


_run_on_node = ray.remote(max_retries=0)(run_on_node)
"""max_retries=0: a task whose node died is not silently run again by Ray; the job goes back to
the gradebook's queue instead, which decides who grades it (exactly once)."""


class RayPhaseRunner:
    """A PhaseRunner that runs each sandbox as a Ray task asking for its envelope, on whichever node
    has it free; the trusted side keeps the folders and gets /out back in the local folder."""

    def __init__(self):
        self._lock = threading.Lock()
        self._in_flight: set[ray.ObjectRef] = set()
        self.phases_per_node: Counter[str] = Counter()
        """Sandbox runs each node has finished, for the worker's summary and the tests."""

    def __call__(self, argv: list[str], *, ro_binds: dict[Path, str], rw_binds: dict[Path, str],
                 envelope: Envelope, env: dict[str, str], slot: int = 0, use_bubblewrap: bool | None = None,
                 cores: Sequence[int] | None = None) -> SandboxRun:
        """As run_sandboxed; `cores` (GRADER_CORES of this machine) does not apply on another node.
        Raises PhaseRefused when no node could ever run it, NodeLost when its node died meanwhile."""
        what = f"the sandbox run `{' '.join(Path(arg).name for arg in argv[1:]) or argv[0]}`"  # "driver.py train"
        request = request_for(envelope, capacities(ray.nodes()), what)
        folders = {target: pack(host, max_bytes=sys.maxsize, max_entries=sys.maxsize)
                   for host, target in [*ro_binds.items(), *rw_binds.items()]}
        run = NodeRun(list(argv), {t: h.name for h, t in ro_binds.items()}, {t: h.name for h, t in rw_binds.items()},
                      envelope, dict(env), slot, use_bubblewrap)
        ref = _run_on_node.options(**request.options()).remote(run, ray.put(folders))
        with self._lock:
            self._in_flight.add(ref)
        try:
            result, written = ray.get(ref)
        except NODE_LOST as error:
            raise NodeLost(f"the Ray node of {what} was lost before the sandbox's result came back: "
                           f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}") from error
        finally:
            with self._lock:
                self._in_flight.discard(ref)
        for host, target in rw_binds.items():
            tree = written[target]
            if tree.dropped:
                log.warning("%s: %d entries of %s were not brought back from %s: %s", what, len(tree.dropped),
                            target, result.node, "; ".join(tree.dropped[:5]))
            _empty(host)  # what the trusted side put there (a shared run's subfolders) went to the node
            unpack(tree, host)
        with self._lock:
            self.phases_per_node[result.node] += 1
        return result

    def stop(self) -> None:
        """Cancels the sandbox runs in flight (the worker is stopping: their jobs go back to the queue)."""
        with self._lock:
            refs = list(self._in_flight)
        for ref in refs:
            ray.cancel(ref, force=True)


def _empty(folder: Path) -> None:
    """Removes what is in `folder` (the trusted side's own files and folders), never following links."""
    from grader.grading import _remove_tree

    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            _remove_tree(child)
        else:
            child.unlink()
