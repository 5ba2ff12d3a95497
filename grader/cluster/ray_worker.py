"""`python -m grader worker --ray ADDRESS|local`: the gradebook's worker, its phases placed by Ray."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from grader.config import REPO_ROOT, Config

LOCAL_OBJECT_STORE_BYTES = 2**30
"""The object store of `--ray local`: a phase's inputs are at most ~60 MB (the public digits), so
1 GiB holds the folders of many phases in flight without taking a third of the machine's memory,
Ray's default."""


def connect(address: str) -> None:
    """Joins the Ray cluster at `address` ("HOST:6379"), or with "local" starts one on this machine,
    without Ray's dashboard or usage statistics."""
    # Read by Ray's processes, started below or by `ray start --disable-usage-stats`: no telemetry.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    # The tasks import the grader on the nodes: where they run from this checkout (local, tests) it
    # is found here; a cluster's nodes have their own checkout on PYTHONPATH (README).
    runtime_env = {"env_vars": {"PYTHONPATH": str(REPO_ROOT)}}
    if address == "local":
        ray.init(include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE_BYTES, runtime_env=runtime_env,
                 log_to_driver=False)
    else:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)


def serve_on_ray(config: Config, address: str, *, threads: int = 1, once: bool = False, poll_seconds: float = 2.0,
                 out: TextIO | None = None) -> int:
    """grader.worker.serve with every phase run as a Ray task on the cluster at `address`; the
    gradebook still decides who grades what (claims, leases, exactly-once recording)."""
    import ray

    from grader.cluster.ray_phases import RayPhaseRunner
    from grader.worker import serve

    connect(address)
    try:
        resources = ray.cluster_resources()
        print(f"Ray cluster {address}: {len([n for n in ray.nodes() if n['Alive']])} live nodes, "
              f"{resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs.", file=sys.stderr, flush=True)
        runner = RayPhaseRunner()
        status = serve(config, threads=threads, once=once, poll_seconds=poll_seconds, out=out, runner=runner)
        if runner.phases_per_node:
            print("Sandbox runs per node: " + ", ".join(f"{node}: {count}" for node, count
                                                        in sorted(runner.phases_per_node.items())) + ".",
                  file=sys.stderr, flush=True)
        return status
    finally:
        ray.shutdown()
