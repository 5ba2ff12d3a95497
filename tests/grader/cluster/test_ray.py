"""The worker on a simulated Ray cluster: exactly-once grading across nodes, a node that dies, GPU waits, refusals."""

import dataclasses
import io
import os
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from grader.cluster import PhaseRefused  # noqa: E402
from grader.cluster.ray_phases import RayPhaseRunner  # noqa: E402
from grader.cluster.ray_worker import connect  # noqa: E402
from grader.config import REPO_ROOT, Config, EnvelopeOverrides  # noqa: E402
from grader.intake import Artifact  # noqa: E402
from grader.sandbox import Envelope  # noqa: E402
from grader.store import Gradebook  # noqa: E402
from grader.worker import Worker  # noqa: E402

REFERENCE = (REPO_ROOT / "reference" / "conv_ops.py").read_bytes()
EXAMPLES = REPO_ROOT / "examples" / "submissions" / "conv_ops"
# Quick submissions (a sandbox of about half a second each) whose scores do not depend on the
# secret's hidden cases; a syntax error never reaches a sandbox.
QUICK = {"reference": (REFERENCE, 30.0), "s01": ((EXAMPLES / "s01_li_wei.py").read_bytes(), 30.0),
         "s02": ((EXAMPLES / "s02_wang_fang.py").read_bytes(), 30.0),
         "syntax error": ((REPO_ROOT / "tests" / "fixtures" / "submissions" / "syntax_error.py").read_bytes(), 0.0)}
STORE = 100 * 2**20  # each node's object store (Ray's least is 75 MiB): a conv_ops phase ships a few hundred KB
LEASE_SECONDS = 1800.0  # the default: a job regraded within minutes came back by release, not by the lease
PATIENCE = 300  # seconds: a sandbox waits for free cores, which other test runs on this machine may hold


@pytest.fixture(scope="module")
def cluster():
    """A head that runs nothing and three one-core nodes, one with a (fake) GPU: Ray starts slowly
    on two cores, so the module shares it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    simulated = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False,
                                                              "object_store_memory": STORE})
    nodes = {name: simulated.add_node(num_cpus=1, object_store_memory=STORE, **extra)
             for name, extra in (("a", {}), ("b", {}), ("gpu", {"num_gpus": 1}))}
    simulated.wait_for_nodes()
    connect(simulated.address)
    yield simulated, nodes
    ray.shutdown()
    simulated.shutdown()


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(db_url=f"sqlite:///{tmp_path / 'grades.db'}", use_keras_download=False, secret_path=tmp_path / "secret",
                  lease_seconds=LEASE_SECONDS)


def queue_class(config: Config, students: int) -> dict[int, float]:
    """Queues `students` quick conv_ops submissions as uploads; submission id -> expected score."""
    expected = {}
    kinds = list(QUICK.values())
    with Gradebook(config.db_url) as gradebook:
        for number in range(students):
            content, score = kinds[number % len(kinds)]
            submission_id, _ = gradebook.add_submission(f"s{number:03d}", "conv_ops", Artifact.of("conv_ops.py", content),
                                                        submitted_at=datetime.now(timezone.utc), time_source="received")
            expected[submission_id] = score
    return expected


def node_of(log: str) -> str:
    """The node an instructor log says the phase ran on ("...; on Ray node 1a2b3c4d5e6f (10.0.0.2); ...");
    "" for a submission that never reached a sandbox (a syntax error)."""
    return log.split("; on Ray node ", 1)[1].split(" ", 1)[0] if "; on Ray node " in log else ""


def assert_graded_once(config: Config, expected: dict[int, float]) -> list[str]:
    """Every submission done, with its score, by exactly one grading; returns the node of each."""
    nodes = []
    with Gradebook(config.db_url) as gradebook:
        for submission_id, score in expected.items():
            stored = gradebook.submission(submission_id)
            gradings = gradebook.gradings(submission_id)
            assert (stored.status, stored.score, len(gradings)) == ("done", score, 1), (submission_id, stored.notes)
            nodes.append(node_of(gradings[0].instructor_log))
    return nodes


def grade_queue(config: Config, threads: int, runner: RayPhaseRunner | None = None) -> str:
    out = io.StringIO()
    worker = Worker(Gradebook(config.db_url), config, threads=threads, once=True, out=out,
                    runner=runner or RayPhaseRunner())
    assert worker.run() == 0
    worker.gradebook.close()
    return out.getvalue()


def test_a_class_is_graded_exactly_once_across_nodes(cluster, config):
    expected = queue_class(config, 6)
    started = time.perf_counter()
    grade_queue(config, threads=3)
    print(f"6 submissions on 3 nodes, 3 threads: {time.perf_counter() - started:.1f} s")
    assert len(set(node for node in assert_graded_once(config, expected) if node)) >= 2


def test_a_run_of_several_phases_gets_its_result_subfolders_back(cluster, tmp_path):
    out = tmp_path / "out"
    for phase in ("build", "train"):  # as grading makes them for build and train sharing one sandbox
        (out / phase).mkdir(parents=True)
    run = RayPhaseRunner()(
        [sys.executable, "-c", "[open(f'/out/{p}/observations.json', 'w').write(p) for p in ('build', 'train')]"],
        ro_binds={}, rw_binds={out: "/out"}, envelope=Envelope(seconds=20), env={})
    assert run.status == "ok", run.output
    assert [(out / p / "observations.json").read_text() for p in ("build", "train")] == ["build", "train"]


def test_a_phase_whose_gpu_share_is_busy_waits_for_it(cluster, tmp_path):
    _, nodes = cluster
    released = tmp_path / "release-the-gpu"

    @ray.remote(num_gpus=1, num_cpus=0)
    def hold_the_gpu(flag: str) -> None:
        while not os.path.exists(flag):
            time.sleep(0.05)

    blocker = hold_the_gpu.remote(str(released))
    out = tmp_path / "out"
    out.mkdir()
    results = []
    phase = threading.Thread(target=lambda: results.append(RayPhaseRunner()(
        [sys.executable, "-c", "open('/out/done', 'w').write('ran')"], ro_binds={}, rw_binds={out: "/out"},
        envelope=Envelope(seconds=20, gpu=0.125), env={})))
    phase.start()
    phase.join(3.0)
    assert phase.is_alive() and not results, "the phase ran while the only GPU was held"
    released.touch()
    ray.get(blocker)
    phase.join(PATIENCE)
    assert results and results[0].status == "ok", results and results[0].output
    assert (out / "done").read_text() == "ran"  # /out came back from the node
    assert results[0].node.startswith(f"Ray node {nodes['gpu'].node_id[:12]}")


def test_a_phase_no_node_could_ever_run_is_a_grader_error_at_once(cluster, config):
    with pytest.raises(PhaseRefused, match=r"asks for 8 CPUs .* the biggest has 1 CPU"):
        RayPhaseRunner()([sys.executable, "-c", "pass"], ro_binds={}, rw_binds={}, envelope=Envelope(cpus=8), env={})
    huge = dataclasses.replace(config, overrides=EnvelopeOverrides(cpus=8))
    [submission_id] = queue_class(huge, 1)
    started = time.perf_counter()
    lines = grade_queue(huge, threads=1)
    assert time.perf_counter() - started < 20
    with Gradebook(config.db_url) as gradebook:
        stored = gradebook.submission(submission_id)
        log = gradebook.gradings(submission_id)[0].instructor_log
    assert (stored.status, stored.score) == ("error", None)
    assert "PhaseRefused: The sandbox run `driver.py run` asks for 8 CPUs" in log
    assert "grader error, PhaseRefused" in lines


def sandboxes_under(pid: int) -> bool:
    """Whether a process below `pid` (a node's raylet) runs the probe's driver: a phase's sandbox."""
    parents, sandboxes = {}, []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            parents[int(name)] = int(Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()[1])
            if b"driver.py" in Path(f"/proc/{name}/cmdline").read_bytes():
                sandboxes.append(int(name))
        except (OSError, IndexError, ValueError):
            continue  # exited while the list was read
    for ancestor in sandboxes:
        while ancestor > 1 and ancestor != pid:
            ancestor = parents.get(ancestor, 0)
        if ancestor == pid:
            return True
    return False


def running_on(nodes: dict) -> str | None:
    """The name of the node whose raylet has a phase's sandbox below it, if any."""
    return next((name for name, node in nodes.items()
                 if sandboxes_under(node.all_processes["raylet"][0].process.pid)), None)


def queue_one(config: Config, student: str, source: bytes) -> int:
    """Queues one conv_ops submission of `source`; its id."""
    with Gradebook(config.db_url) as gradebook:
        submission_id, _ = gradebook.add_submission(student, "conv_ops", Artifact.of("conv_ops.py", source),
                                                    submitted_at=datetime.now(timezone.utc), time_source="received")
    return submission_id


def started_on(nodes: dict) -> str:
    """Waits until a phase's sandbox runs on one of the nodes; that node's name."""
    deadline = time.monotonic() + PATIENCE
    while (node := running_on(nodes)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert node is not None, "the phase never started"
    return node


def test_a_stopped_worker_cancels_its_phases_on_the_nodes_and_hands_the_job_back(cluster, config):
    _, nodes = cluster
    submission_id = queue_one(config, "stopped", b"import time\ntime.sleep(60)\n" + REFERENCE)
    worker = Worker(Gradebook(config.db_url), config, threads=1, out=io.StringIO(), runner=RayPhaseRunner())
    thread = threading.Thread(target=worker.run)
    thread.start()
    started_on(nodes)
    stopped = time.monotonic()
    worker.stop("SIGTERM")
    thread.join(30)
    assert not thread.is_alive() and time.monotonic() - stopped < 15
    worker.gradebook.close()
    with Gradebook(config.db_url) as gradebook:
        stored = gradebook.submission(submission_id)
        assert (stored.status, stored.attempts, gradebook.gradings(submission_id)) == ("queued", 0, [])
    deadline = time.monotonic() + 10
    while running_on(nodes) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running_on(nodes) is None, "the cancelled phase's sandbox still runs on its node"


def test_a_node_that_dies_mid_phase_hands_its_job_back_at_once_and_it_is_graded_once_elsewhere(cluster, config):
    simulated, nodes = cluster
    submission_id = queue_one(config, "doomed",
                              b"import time\ntime.sleep(2)  # long enough to lose its node meanwhile\n" + REFERENCE)
    lines = []
    worker = threading.Thread(target=lambda: lines.append(grade_queue(config, threads=1)))
    worker.start()
    victim = started_on(nodes)
    dead_id = nodes[victim].node_id
    simulated.remove_node(nodes.pop(victim))
    removed = time.monotonic()
    worker.join(2 * PATIENCE)
    print(f"graded again {time.monotonic() - removed:.1f} s after its node was removed; the worker said:\n{lines[0]}")
    assert time.monotonic() - removed < PATIENCE < LEASE_SECONDS
    with Gradebook(config.db_url) as gradebook:
        [grading] = gradebook.gradings(submission_id)
        assert gradebook.submission(submission_id).attempts == 2  # the lost one counts against max_attempts
    assert (grading.status, grading.score) == ("done", 30.0)
    assert not dead_id.startswith(node_of(grading.instructor_log))
    assert "handed back to the queue, the Ray node of the sandbox run `driver.py run` was lost" in lines[0]


@pytest.mark.slow
def test_two_hundred_submissions_are_graded_exactly_once_across_nodes(cluster, config):
    expected = queue_class(config, 200)
    runner = RayPhaseRunner()
    started = time.perf_counter()
    grade_queue(config, threads=4, runner=runner)
    seconds = time.perf_counter() - started
    nodes = assert_graded_once(config, expected)
    print(f"200 submissions, 4 threads, {len(runner.phases_per_node)} nodes: {seconds:.0f} s; "
          f"{dict(runner.phases_per_node)}")
    sandboxed = [node for node in nodes if node]  # a syntax error never reaches a sandbox
    assert len(sandboxed) == 150 and sum(runner.phases_per_node.values()) == 150
    assert len(set(sandboxed)) >= 2
