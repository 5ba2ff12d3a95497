"""A phase's envelope as the Ray resources its task asks for, and whether any node could ever give them."""

from __future__ import annotations

from dataclasses import dataclass

from grader.cluster import PhaseRefused
from grader.present import size_text
from grader.sandbox import Envelope


@dataclass(frozen=True)
class NodeCapacity:
    """What one live node of the cluster offers in all (not what is free now)."""

    node_id: str
    cpus: float
    memory_bytes: float
    gpus: float

    def describe(self) -> str:
        return (f"{self.cpus:g} CPU{'s' if self.cpus != 1 else ''}, {size_text(int(self.memory_bytes))} of memory, "
                f"{self.gpus:g} GPU{'s' if self.gpus != 1 else ''}")


@dataclass(frozen=True)
class Request:
    """The resources of a phase's Ray task: Ray starts it only on a node where they are free."""

    num_cpus: int
    memory: int
    """Bytes: Ray's logical `memory` resource, so that a node is not promised more than it has."""
    num_gpus: float
    """The phase's GPU share where the cluster has GPUs; 0 on a cluster without any, where the
    phase computes on its cores as it would on a local machine without a GPU."""

    def options(self) -> dict:
        return {"num_cpus": self.num_cpus, "memory": self.memory, "num_gpus": self.num_gpus}


def capacities(nodes: list[dict]) -> list[NodeCapacity]:
    """The live nodes of `ray.nodes()`."""
    return [NodeCapacity(node["NodeID"], node["Resources"].get("CPU", 0.0), node["Resources"].get("memory", 0.0),
                         node["Resources"].get("GPU", 0.0)) for node in nodes if node.get("Alive")]


def request_for(envelope: Envelope, nodes: list[NodeCapacity], what: str) -> Request:
    """What the task of `what` ("the train phase") asks for; PhaseRefused when no node could ever run it, since Ray would
    otherwise keep an infeasible task waiting for a node that never comes. A GPU share that is
    busy is not refused: the task waits for it."""
    cluster_has_gpu = any(node.gpus > 0 for node in nodes)
    request = Request(envelope.cpus, envelope.memory_bytes, envelope.gpu if cluster_has_gpu else 0.0)
    if any(_fits(request, node) for node in nodes):
        return request
    asked = (f"{request.num_cpus} CPU{'s' if request.num_cpus != 1 else ''} and {size_text(request.memory)} of memory"
             + (f" and {request.num_gpus:g} of a GPU" if request.num_gpus else ""))
    if not nodes:
        raise PhaseRefused(f"{what[:1].upper()}{what[1:]} asks for {asked}, but the Ray cluster has no live node.")
    biggest = max(nodes, key=lambda node: (node.gpus >= request.num_gpus, node.cpus, node.memory_bytes))
    raise PhaseRefused(f"{what[:1].upper()}{what[1:]} asks for {asked}, but no node of the Ray cluster can ever give it: the "
                       f"biggest has {biggest.describe()} ({len(nodes)} live node{'s' if len(nodes) != 1 else ''}). "
                       "Likely cause: the assignment's envelope (or --cpus/--memory) is larger than these machines; "
                       "add a bigger node or lower the envelope.")


def _fits(request: Request, node: NodeCapacity) -> bool:
    return (node.cpus >= request.num_cpus and node.memory_bytes >= request.memory
            and node.gpus >= request.num_gpus)
