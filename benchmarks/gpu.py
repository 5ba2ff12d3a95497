"""Measures grading on a GPU machine and on its CPU: every reference, images per second, sandboxes sharing one GPU, a class."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from grader.assignment import load_assignment
from grader.config import REPO_ROOT, Config
from grader.grading import grade_path
from grader.phases import GPU_SHARE
from grader.results import GradingReport
from grader.sandbox import devices
from grader.sandbox.runner import bubblewrap_available

WORKLOADS = ("references", "throughput", "shared", "class")
REFERENCES = ("conv_ops", "mnist_convnet", "lenet5", "resnet", "digit_adder")
THROUGHPUT_MODELS = ("mnist_convnet", "lenet5")
EXAMPLES = REPO_ROOT / "examples" / "submissions"
NOT_SUBMISSIONS = {"expected.json", "manifest.csv"}
NVIDIA_SMI_PERIOD = 0.5  # seconds between GPU memory readings: a sandbox's peak lasts seconds, not less
LOG_TAIL = 3000  # characters of the instructor log kept for a grading that lost points
CHILD_TIMEOUT = 600  # a throughput child that hangs (a wedged GPU) must not eat the whole device call


@dataclass
class Options:
    """What to measure, and how much of it; --quick shrinks every size to a CPU dry run of seconds."""

    devices: tuple[str, ...]
    """"gpu" and/or "cpu": the CPU pass grades with a GPU share of 0 (the sandboxes get
    CUDA_VISIBLE_DEVICES="") and trains its throughput child without CUDA devices."""
    skip: frozenset[str] = frozenset()
    """Workloads not run (WORKLOADS names)."""
    references: tuple[str, ...] = REFERENCES
    """The references graded end to end, one at a time."""
    throughput_images: int = 7200
    """Training digits per epoch in the images-per-second child (two epochs; the second is timed)."""
    throughput_models: tuple[str, ...] = THROUGHPUT_MODELS
    shared_assignment: str = "mnist_convnet"
    """Whose reference the sharing test grades `sharing` times at once."""
    sharing: int = round(1 / GPU_SHARE)
    """Sandboxes at once on one GPU: as many as GPU_SHARE lets share a card."""
    class_assignment: str = "lenet5"
    """The example submissions (examples/submissions/NAME/*) repeated to make the class."""
    class_size: int = 100
    class_workers: int = round(1 / GPU_SHARE)
    """Gradings at once in the class run, as `grader worker --workers N` would run them."""
    deadline_seconds: float = 420
    """No new measurement starts, and the class claims no new submission, after this many seconds:
    a device call has 10 minutes, set-up and the gradings under way included. What was measured by
    then is written, and the rest is listed as not run."""
    out: Path = REPO_ROOT / "benchmarks" / "results"


@dataclass
class Results:
    """What was measured so far: written after every measurement, so a run cut short still tells."""

    machine: dict
    options: dict
    runs: dict = field(default_factory=dict)
    """device -> workload -> its figures."""
    not_run: list[str] = field(default_factory=list)
    """Each measurement left out, with why."""

    def write(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "gpu.json").write_text(json.dumps(dataclasses.asdict(self), indent=2, default=str) + "\n")
        (out / "gpu.md").write_text(markdown(self))


class Deadline:
    """The moment after which nothing new starts."""

    def __init__(self, seconds: float):
        self.ends = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() >= self.ends


def device_config(base: Config, device: str) -> Config:
    """The grader's configuration for one pass: on the CPU, every phase's GPU share is 0."""
    gpu = None if device == "gpu" else 0.0
    return dataclasses.replace(base, overrides=dataclasses.replace(base.overrides, gpu=gpu))


def isolation_of(report: GradingReport) -> str:
    return "rlimits (bubblewrap unavailable)" if any("isolation is weak" in n for n in report.notes) else "bubblewrap"


def summary(report: GradingReport, assignment) -> dict:
    """A grading's figures, and every check that lost points with why (to read on a machine one cannot log in to)."""
    lost = [{"check": c.name, "points": c.points, "max_points": c.max_points, "message": c.message[:400]}
            for c in report.checks if c.points < c.max_points]
    return {"score": report.score, "max_score": report.max_score, "full_marks": report.score == report.max_score,
            "all_phases_ran": len(report.phase_seconds) == len(assignment.phases),
            "seconds": round(report.execution_seconds, 1),
            # The sandboxes' own time: the first grading of a trained assignment on a machine whose
            # cache is empty also grades the reference for its robustness curves, once, inside `seconds`.
            "phases_seconds": round(sum(report.phase_seconds.values()), 1), "phase_seconds": report.phase_seconds,
            "phase_cpu_seconds": report.phase_cpu_seconds,
            # Waiting for cores or a GPU slot that other sandboxes on the machine hold (leases are machine-wide).
            "phase_queued_seconds": report.phase_queued_seconds, "device": report.device,
            "isolation": isolation_of(report), "lost": lost,
            "warnings": [note[:300] for note in report.notes if note.startswith("Warning")],
            # The sandboxes' output, for a machine one reads only through this file.
            "log_tail": report.instructor_log[-LOG_TAIL:] if lost else ""}


def grade_reference(name: str, config: Config, *, slot: int = 0, student: str = "gpu-check") -> dict:
    assignment = load_assignment(name)
    report = grade_path(REPO_ROOT / "reference" / f"{name}.py", assignment, config, student=student, slot=slot)
    return summary(report, assignment)


class GpuMemory:
    """Samples nvidia-smi while sandboxes run: each compute process's peak, and the card's peak."""

    def __init__(self):
        self.smi = shutil.which("nvidia-smi")
        self.per_process: dict[str, int] = {}
        self.peak_used = 0
        self.baseline = self._used()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _query(self, *args: str) -> list[list[str]]:
        if self.smi is None:
            return []
        result = subprocess.run([self.smi, *args, "--format=csv,noheader,nounits"], capture_output=True, text=True,
                                timeout=10)
        return [[cell.strip() for cell in line.split(",")] for line in result.stdout.splitlines() if line.strip()]

    def _used(self) -> int:
        rows = self._query("--query-gpu=memory.used")
        return sum(int(row[0]) for row in rows if row[0].isdigit())

    def _sample(self) -> None:
        while not self._stop.wait(NVIDIA_SMI_PERIOD):
            for pid, used in (row for row in self._query("--query-compute-apps=pid,used_memory") if len(row) == 2):
                if used.isdigit():
                    self.per_process[pid] = max(self.per_process.get(pid, 0), int(used))
            self.peak_used = max(self.peak_used, self._used())

    def __enter__(self) -> "GpuMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self, sandboxes: int) -> dict:
        if self.smi is None:
            return {"gpu_memory": "not measured: nvidia-smi is not on PATH"}
        total = sum(int(row[0]) for row in self._query("--query-gpu=memory.total") if row[0].isdigit())
        peaks = sorted(self.per_process.values())
        return {"gpu_memory_total_mib": total, "share_mib": round(total * GPU_SHARE),
                "per_process_peak_mib": peaks,
                "card_peak_over_idle_mib": self.peak_used - self.baseline,
                "card_peak_over_idle_per_sandbox_mib": round((self.peak_used - self.baseline) / sandboxes),
                # None where nvidia-smi lists no processes (some containers): the card's peak still tells.
                "within_share": max(peaks) <= total * GPU_SHARE * 1.05 if peaks else None}


def grade_together(name: str, count: int, config: Config, alone: dict | None) -> dict:
    """`count` gradings of one reference at once, each in its own slot (uid, cores, GPU share)."""
    alone = alone or grade_reference(name, config)
    results: list[dict | None] = [None] * count
    errors: list[str] = []

    def one(index: int) -> None:
        try:
            results[index] = grade_reference(name, config, slot=index, student=f"shared-{index}")
        except Exception as error:  # the outermost boundary of one sandbox: recorded, the others go on
            errors.append(f"sandbox {index}: {type(error).__name__}: {error}")

    started = time.perf_counter()
    with GpuMemory() as memory:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finished = [r for r in results if r is not None]
    return {"assignment": name, "sandboxes": count, "wall_seconds": round(time.perf_counter() - started, 1),
            "alone_score": alone["score"], "alone_phases_seconds": alone["phases_seconds"],
            "all_finished": len(finished) == count and all(r["all_phases_ran"] for r in finished),
            "same_scores_as_alone": all(r["score"] == alone["score"] for r in finished) and len(finished) == count,
            "scores": [r["score"] for r in finished], "phases_seconds_each": [r["phases_seconds"] for r in finished],
            "errors": errors, **(memory.figures(count) if config.overrides.gpu != 0 else {})}


def class_submissions(assignment: str, size: int) -> list[Path]:
    folder = EXAMPLES / assignment
    examples = sorted(p for p in folder.iterdir() if p.name not in NOT_SUBMISSIONS)
    return [examples[i % len(examples)] for i in range(size)]


def grade_class(name: str, size: int, workers: int, config: Config, deadline: Deadline) -> dict:
    """The example submissions repeated to `size`, graded by `workers` threads like a worker's."""
    assignment = load_assignment(name)
    pending = list(enumerate(class_submissions(name, size)))
    lock = threading.Lock()
    scores: dict[str, set] = defaultdict(set)
    seconds: list[float] = []
    errors: list[str] = []

    def work(slot: int) -> None:
        while True:
            with lock:
                if not pending or deadline.passed():
                    return
                index, path = pending.pop(0)
            try:
                report = grade_path(path, assignment, config, student=f"class-{index}", slot=slot)
            except Exception as error:  # the outermost boundary of one grading: recorded, the class goes on
                errors.append(f"{path.name}: {type(error).__name__}: {error}")
                continue
            with lock:
                scores[path.name].add(report.score)
                seconds.append(report.execution_seconds)

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    graded = len(seconds)
    return {"assignment": name, "asked": size, "graded": graded, "workers": workers, "wall_seconds": round(wall, 1),
            "gradings_per_hour": round(graded / wall * 3600) if graded else 0,
            "median_seconds_per_grading": round(statistics.median(seconds), 1) if seconds else None,
            "same_score_for_each_copy": all(len(s) == 1 for s in scores.values()),
            "scores": {student: sorted(s) for student, s in sorted(scores.items())}, "errors": errors}


# Runs in a plain child process, like benchmarks/grading.py's PLAIN_WORK: the trusted process never
# imports a framework, so it holds no GPU memory while the sandboxes share the card.
THROUGHPUT_CHILD = """
import json, sys, time
import keras
from benchmarks.accuracy import as_float_images
from grader.config import Config
from grader.data import load_mnist
from grader.probe.device import describe_device

name, count = sys.argv[1], int(sys.argv[2])
data = load_mnist(Config(use_keras_download=False))
images, labels = as_float_images(data.public.images[:count]), data.public.labels[:count]
if name == "lenet5":
    from reference import lenet5 as m
    model, images = m.compile_lenet5(m.build_lenet5(), count), m.pad_to_32(images)
else:
    from reference import mnist_convnet as m
    model = m.compile_model(m.build_model(), count)

class Clock(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        seconds.append(time.perf_counter() - self.started)

seconds = []
model.fit(images, labels, epochs=2, batch_size=m.BATCH_SIZE, verbose=0, callbacks=[Clock()])
print(json.dumps({"model": name, "images": len(images), "batch_size": m.BATCH_SIZE, "device": describe_device(),
                  "first_epoch_seconds": round(seconds[0], 2), "second_epoch_seconds": round(seconds[1], 2),
                  "images_per_second": round(len(images) / seconds[1])}))
"""


def throughput(model: str, images: int, device: str, config: Config) -> dict:
    """Training images per second of one reference model in one plain process (the second epoch: the
    first includes compiling), on the whole GPU or on every core of the machine."""
    host_gpus = devices.gpus()
    gpu = host_gpus[0] if device == "gpu" and host_gpus else None
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", **config.sandbox_env(),
           **devices.framework_env(os.cpu_count() or 1, gpu, 1.0)}
    child = subprocess.run([config.sandbox_python, "-c", THROUGHPUT_CHILD, model, str(images)], cwd=REPO_ROOT,
                           env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    if child.returncode != 0:
        return {"model": model, "error": f"exit status {child.returncode}: {child.stderr.strip()[-1500:]}"}
    return json.loads(child.stdout.strip().splitlines()[-1])


def machine(config: Config) -> dict:
    """The machine in words, read without importing a framework into this process."""
    gpus = []
    if smi := shutil.which("nvidia-smi"):
        query = subprocess.run([smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                               capture_output=True, text=True, timeout=30)
        gpus = [line.strip() for line in query.stdout.splitlines() if line.strip()]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    return {"gpus": gpus, "gpu_device_nodes": [f"/dev/nvidia{g.minor}" for g in devices.gpus()], "cpu": cpu,
            "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "keras_backend": config.keras_backend, "bubblewrap": bubblewrap_available()}


PLAN = (("gpu", "references"), ("gpu", "throughput"), ("cpu", "throughput"), ("gpu", "shared"), ("gpu", "class"),
        ("cpu", "references"), ("cpu", "shared"), ("cpu", "class"))
"""The order of the measurements: the GPU figures and the quick CPU ones first, so that a call cut
short by its deadline still has them; the CPU pass's gradings (minutes on 1-2 cores each) last."""


def grade_references(names: tuple[str, ...], config: Config, device: str, step) -> dict:
    """Each reference graded end to end. On the GPU one at a time (the card's figures alone); on the
    CPU at once where the machine has two cores per grading, since each phase has cores of its own."""
    rows: dict[str, dict] = {}
    if device == "cpu" and len(names) > 1 and (os.cpu_count() or 1) >= 2 * len(names):
        def one(name: str) -> None:
            rows[name] = grade_reference(name, config, slot=names.index(name), student=f"gpu-check-{name}")

        def together() -> dict:
            threads = [threading.Thread(target=one, args=(name,)) for name in names]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return {name: rows[name] | {"graded_concurrently": True} for name in names if name in rows}

        return step(", ".join(names) + " at once", together) or {}
    for name in names:
        if (row := step(name, lambda: grade_reference(name, config))) is not None:
            rows[name] = row
    return rows


def measure(options: Options, base: Config) -> Results:
    results = Results(machine(base), {k: sorted(v) if isinstance(v, frozenset) else v
                                      for k, v in dataclasses.asdict(options).items()})
    deadline = Deadline(options.deadline_seconds)
    host_has_gpu = bool(devices.gpus())
    measuring_gpu = "gpu" in options.devices and host_has_gpu
    if "gpu" in options.devices and not host_has_gpu:
        results.not_run.append("gpu: every workload: this machine has no NVIDIA GPU (/dev/nvidia*)")

    for device, workload in PLAN:
        if device not in options.devices or workload in options.skip or (device == "gpu" and not host_has_gpu):
            continue
        if device == "cpu" and workload in ("shared", "class") and measuring_gpu:
            continue  # sharing a card and the class are GPU figures; --cpu-only measures them on the CPU
        config = device_config(base, device)
        runs = results.runs.setdefault(device, {})

        def step(what: str, run) -> dict | None:
            if deadline.passed():
                results.not_run.append(f"{device} {workload} {what}: the {options.deadline_seconds:g} s deadline had passed")
                return None
            print(f"[{time.strftime('%H:%M:%S')}] {device}: {workload} {what}", flush=True)
            figures = run()
            results.write(options.out)
            return figures

        if workload == "references":
            runs["references"] = grade_references(options.references, config, device, step)
        elif workload == "throughput":
            runs["throughput"] = {}
            for model in options.throughput_models:
                if (row := step(model, lambda: throughput(model, options.throughput_images, device, config))) is not None:
                    runs["throughput"][model] = row
        elif workload == "shared":
            alone = runs.get("references", {}).get(options.shared_assignment)
            if (figures := step(options.shared_assignment, lambda: grade_together(
                    options.shared_assignment, options.sharing, config, alone))) is not None:
                runs["shared"] = figures
        elif (figures := step(options.class_assignment, lambda: grade_class(
                options.class_assignment, options.class_size, options.class_workers, config, deadline))) is not None:
            runs["class"] = figures
        results.write(options.out)
    results.write(options.out)
    return results


def markdown(results: Results) -> str:
    m = results.machine
    lines = [f"# GPU check ({m['keras_backend']} backend)", "",
             f"Machine: {', '.join(m['gpus']) or 'no GPU'}; {m['cpu']}, {m['cores']} cores; Python {m['python']}; "
             f"bubblewrap {'works' if m['bubblewrap'] else 'unavailable (rlimits mode)'}.", ""]
    refs = [(d, n, r) for d, runs in results.runs.items() for n, r in runs.get("references", {}).items()]
    if refs:
        lines += ["| device | reference | score | wall s (cold cache: + reference curves) | sandbox s | waited for cores s "
                  "| phases (s) | graded on | isolation |", "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {d} | {n} | {r['score']:g}/{r['max_score']:g} | {r['seconds']} | {r['phases_seconds']} | "
                  f"{round(sum(r['phase_queued_seconds'].values()), 1)} | "
                  f"{', '.join(f'{k} {v}' for k, v in r['phase_seconds'].items())} | {r['device']} | {r['isolation']} |"
                  for d, n, r in refs]
        lines.append("")
    rates = [(d, r) for d, runs in results.runs.items() for r in runs.get("throughput", {}).values()]
    if rates:
        lines += ["| device | model | training images/s | first epoch s (compiles) | second epoch s |", "|---|---|---|---|---|"]
        lines += [f"| {d} | {r['model']} | {r.get('images_per_second', r.get('error', '')[:120])} | "
                  f"{r.get('first_epoch_seconds', '')} | {r.get('second_epoch_seconds', '')} |" for d, r in rates]
        lines.append("")
    for d, runs in results.runs.items():
        if s := runs.get("shared"):
            lines.append(f"- {d}: {s['sandboxes']} sandboxes grading {s['assignment']} at once: all finished "
                         f"{s['all_finished']}, same scores as alone {s['same_scores_as_alone']} ({s['scores']}), "
                         f"sandbox time {s['phases_seconds_each']} s each vs {s['alone_phases_seconds']} s alone, "
                         f"{s['wall_seconds']} s in all; per-process GPU memory peaks "
                         f"{s.get('per_process_peak_mib', 'n/a')} MiB (share {s.get('share_mib', 'n/a')} MiB).")
        if c := runs.get("class"):
            lines.append(f"- {d}: a class of {c['graded']}/{c['asked']} {c['assignment']} submissions, {c['workers']} "
                         f"at once: {c['wall_seconds']} s, {c['gradings_per_hour']} gradings per hour, median "
                         f"{c['median_seconds_per_grading']} s each; same score for each copy {c['same_score_for_each_copy']}.")
    lines += [f"- not run: {reason}" for reason in results.not_run]
    return "\n".join(lines) + "\n"


def parse_options(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__)
    parser.add_argument("--cpu-only", action="store_true", help="measure the CPU pass only (no GPU needed)")
    parser.add_argument("--quick", action="store_true",
                        help="a dry run of seconds: conv_ops only, a tiny throughput run, 2 sandboxes, a class of 2")
    parser.add_argument("--skip", nargs="*", default=[], choices=WORKLOADS)
    parser.add_argument("--references", nargs="+", choices=REFERENCES)
    parser.add_argument("--class-size", type=int)
    parser.add_argument("--class-workers", type=int)
    parser.add_argument("--sharing", type=int, help="sandboxes at once on one GPU (default 8)")
    parser.add_argument("--throughput-images", type=int)
    parser.add_argument("--deadline", type=float, help="seconds after which no measurement starts (default 420)")
    parser.add_argument("--out", type=Path, help="folder for gpu.json and gpu.md (default benchmarks/results)")
    args = parser.parse_args(argv)

    options = Options(devices=("cpu",) if args.cpu_only else ("gpu", "cpu"), skip=frozenset(args.skip))
    if args.quick:
        options = dataclasses.replace(options, references=("conv_ops",), throughput_images=256,
                                      throughput_models=("mnist_convnet",), shared_assignment="conv_ops", sharing=2,
                                      class_assignment="conv_ops", class_size=2, class_workers=2)
    chosen = {"references": tuple(args.references) if args.references else None, "class_size": args.class_size,
              "class_workers": args.class_workers, "sharing": args.sharing,
              "throughput_images": args.throughput_images, "deadline_seconds": args.deadline,
              "out": args.out}
    return dataclasses.replace(options, **{k: v for k, v in chosen.items() if v is not None})


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    results = measure(options, Config.from_env())
    print(markdown(results))
    print(f"wrote {options.out / 'gpu.json'} and {options.out / 'gpu.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
