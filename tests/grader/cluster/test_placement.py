"""A phase's envelope as Ray resources, and the refusal of what no node could ever run."""

import pytest

from grader.cluster import PhaseRefused
from grader.cluster.placement import NodeCapacity, capacities, request_for
from grader.sandbox import Envelope

GiB = 2**30
CPU_NODES = [NodeCapacity("a", 2, 16 * GiB, 0), NodeCapacity("b", 4, 8 * GiB, 0)]
WITH_GPU = [*CPU_NODES, NodeCapacity("g", 16, 64 * GiB, 1)]


@pytest.mark.parametrize("envelope, nodes, options", [
    (Envelope(cpus=1, memory_bytes=4 * GiB), CPU_NODES, {"num_cpus": 1, "memory": 4 * GiB, "num_gpus": 0}),
    # A GPU share means "a GPU where there is one": on a cluster without any, the phase runs on its cores.
    (Envelope(cpus=2, gpu=0.125), CPU_NODES, {"num_cpus": 2, "memory": 4 * GiB, "num_gpus": 0}),
    (Envelope(cpus=2, gpu=0.125), WITH_GPU, {"num_cpus": 2, "memory": 4 * GiB, "num_gpus": 0.125}),
    (Envelope(cpus=4, memory_bytes=8 * GiB), CPU_NODES, {"num_cpus": 4, "memory": 8 * GiB, "num_gpus": 0}),
])
def test_the_request_is_the_envelope(envelope, nodes, options):
    assert request_for(envelope, nodes, "the train phase").options() == options


@pytest.mark.parametrize("envelope, nodes, message", [
    # Four CPUs and 16 GiB exist, but never on one node.
    (Envelope(cpus=4, memory_bytes=16 * GiB), CPU_NODES,
     "The train phase asks for 4 CPUs and 16 GiB of memory, but no node of the Ray cluster can ever give it: "
     "the biggest has 4 CPUs, 8 GiB of memory, 0 GPUs (2 live nodes)."),
    (Envelope(cpus=32, gpu=0.5), WITH_GPU,
     "The train phase asks for 32 CPUs and 4 GiB of memory and 0.5 of a GPU, but no node of the Ray cluster can "
     "ever give it: the biggest has 16 CPUs, 64 GiB of memory, 1 GPU (3 live nodes)."),
    (Envelope(), [], "The train phase asks for 1 CPU and 4 GiB of memory, but the Ray cluster has no live node."),
])
def test_what_no_node_could_ever_run_is_refused_naming_the_biggest_node(envelope, nodes, message):
    with pytest.raises(PhaseRefused) as refused:
        request_for(envelope, nodes, "the train phase")
    assert str(refused.value).startswith(message)


def test_capacities_are_read_from_the_live_nodes_only():
    nodes = [{"NodeID": "a", "Alive": True, "Resources": {"CPU": 2.0, "memory": 8e9}},
             {"NodeID": "b", "Alive": False, "Resources": {"CPU": 64.0, "memory": 1e12, "GPU": 8.0}},
             {"NodeID": "head", "Alive": True, "Resources": {"memory": 8e9}}]
    assert capacities(nodes) == [NodeCapacity("a", 2.0, 8e9, 0.0), NodeCapacity("head", 0.0, 8e9, 0.0)]
