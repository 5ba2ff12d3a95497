"""A class graded on this machine by the real worker: gradings per hour, queue wait at the peak, a projection."""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from grader.assignment import assignment_names, load_assignment
from grader.cli.options import machine_workers
from grader.config import REPO_ROOT, Config
from grader.grading import phase_envelope
from grader.intake import from_path
from grader.jobs import grade_job
from grader.sandbox.runner import available_cores
from grader.store import Gradebook
from grader.worker import Worker

EXAMPLES = REPO_ROOT / "examples" / "submissions"
PROJECTED_STUDENTS = 500
PROJECTED_MACHINE_CORES = 16
"""The machine of the projection: 16 cores, as the issue's GPU machine. Its GPU is not in the
projection: no GPU was measured, so every phase is costed at this machine's CPU speed."""
PROJECTED_MACHINES = (1, 4)


@dataclass(frozen=True)
class Graded:
    """One grading of the class run, as the worker saw it."""

    assignment: str
    student: str
    score: str
    waited_seconds: float
    """From the moment the class was queued (all at once: the deadline rush) to the worker's claim."""
    grading_seconds: float
    core_seconds: float
    """What the grading took from the machine (core_seconds())."""


def class_submissions(students: int, per_assignment: int, assignments: list[str]) -> list[tuple[str, str, Path]]:
    """(student, assignment, file): each student submits `per_assignment` example submissions of
    every assignment, drawn in turn so that the class mixes right, wrong and broken code."""
    picked = []
    for assignment in assignments:
        examples = sorted(p for p in (EXAMPLES / assignment).iterdir()
                          if p.suffix in (".py", ".ipynb", ".zip") or p.is_dir())
        turn = itertools.cycle(examples)
        for student in range(students):
            for _ in range(per_assignment):
                picked.append((f"c{student + 1:03d}", assignment, next(turn)))
    return picked


def core_seconds(report, assignment, config: Config) -> float:
    """What one grading took from the machine: each phase's wall time times the cores it held
    alone, plus the grader's own work between phases (data, checks, figures) on one core; the
    time its phases waited for cores is not in it."""
    cpus = {phase.name: phase_envelope(phase, config).cpus for phase in assignment.phases}
    sandboxes = sum(seconds * cpus.get(name, max(cpus.values())) for name, seconds in report.phase_seconds.items())
    waited = sum(report.phase_queued_seconds.values())  # for cores other gradings held: not this one's cost
    return sandboxes + max(report.execution_seconds - sum(report.phase_seconds.values()) - waited, 0.0)


class TimedWorker(Worker):
    """The worker, noting when each job was claimed and what its grading cost."""

    def __init__(self, *args, queued_at: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.queued_at = queued_at
        self.graded_rows: list[Graded] = []
        self._rows_lock = threading.Lock()

    def _grade(self, job, slot, worker_id):
        claimed = time.perf_counter()
        outcome = grade_job(self.gradebook, job, self.config, slot=slot, worker_id=worker_id, stopping=self._stopping,
                            runner=self.runner)
        self._say(outcome.line)
        if outcome.report is None:
            return
        assignment = load_assignment(job.submission.assignment)
        row = Graded(job.submission.assignment, job.submission.student_id,
                     f"{outcome.report.score:g}/{outcome.report.max_score:g}", round(claimed - self.queued_at, 1),
                     round(time.perf_counter() - claimed, 1), round(core_seconds(outcome.report, assignment, self.config), 1))
        with self._rows_lock:
            self.graded_rows.append(row)
            self.graded += outcome.state == "recorded"


def per_assignment(rows: list[Graded], cores: int) -> list[dict]:
    """Per assignment: gradings, mean time and cores used, and how many one machine of `cores`
    cores grades per hour when it grades nothing else (cores are the bottleneck: each phase holds
    its cores alone)."""
    table = []
    for assignment in sorted({row.assignment for row in rows}):
        mine = [row for row in rows if row.assignment == assignment]
        mean_core_seconds = statistics.fmean(row.core_seconds for row in mine)
        table.append({"assignment": assignment, "gradings": len(mine),
                      "mean_grading_s": round(statistics.fmean(row.grading_seconds for row in mine), 1),
                      "mean_core_s": round(mean_core_seconds, 1),
                      "per_hour_here": round(3600 * cores / mean_core_seconds) if mean_core_seconds else None})
    return table


def projection(rows: list[Graded], students: int, per_assignment_count: int, cores_per_machine: int,
               machines: int) -> dict:
    """Hours to grade `students` x every assignment x `per_assignment_count` submissions on
    `machines` machines of `cores_per_machine` cores, from the measured core-seconds per grading.

    Lower bound: every core busy from the first submission to the last; the real makespan adds at
    most the longest single grading (the last one starts when a core frees up)."""
    mean_by_assignment = {a: statistics.fmean(r.core_seconds for r in rows if r.assignment == a)
                          for a in {r.assignment for r in rows}}
    total = sum(mean_by_assignment.values()) * students * per_assignment_count
    longest = max(r.grading_seconds for r in rows)
    busy = total / (cores_per_machine * machines)
    return {"students": students, "submissions_per_assignment": per_assignment_count,
            "machines": machines, "cores_per_machine": cores_per_machine,
            "gradings": students * per_assignment_count * len(mean_by_assignment),
            "core_hours": round(total / 3600, 1), "hours": round((busy + longest) / 3600, 2)}


def run_class(students: int, per: int, assignments: list[str], config: Config, workdir: Path,
              runner=None, threads: int | None = None) -> tuple[list[Graded], float, int]:
    """Queues the class at once into a fresh gradebook and grades it with the worker until the queue
    is empty: on this machine's sandboxes, or with `runner` (grader.cluster) wherever it places them."""
    url = f"sqlite:///{workdir / 'class.db'}"
    with Gradebook(url) as gradebook:
        now = datetime.now(timezone.utc)
        for student, assignment, path in class_submissions(students, per, assignments):
            gradebook.add_submission(student, assignment, from_path(path, max_bytes=config.upload_max_bytes),
                                     submitted_at=now, time_source="received")
        threads = threads or machine_workers(len(available_cores()), [load_assignment(a) for a in assignments], config)
        started = time.perf_counter()
        worker = TimedWorker(gradebook, config, threads=threads, once=True, queued_at=started, poll_seconds=0.5,
                             runner=runner)
        worker.run()
        elapsed = time.perf_counter() - started
        queued = len(gradebook.submissions())
    if len(worker.graded_rows) != queued:
        raise RuntimeError(f"graded {len(worker.graded_rows)} of the {queued} queued submissions")
    return worker.graded_rows, elapsed, threads


def markdown(rows: list[dict], columns: list[str]) -> str:
    return "\n".join(["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
                     + ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.class", description=__doc__)
    parser.add_argument("--students", type=int, default=2)
    parser.add_argument("--per-assignment", type=int, default=1, help="submissions per student per assignment")
    parser.add_argument("--assignments", nargs="+", default=assignment_names(), choices=assignment_names())
    parser.add_argument("--ray", metavar="ADDRESS", help="grade on this Ray cluster ('local': one started here), "
                        "as `grader worker --ray` does; default: this machine's sandboxes")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "class.json")
    args = parser.parse_args(argv)
    config = Config.from_env()
    cores = len(config.cores or available_cores())

    runner = None
    if args.ray:
        from grader.cluster.ray_phases import RayPhaseRunner
        from grader.cluster.ray_worker import connect

        connect(args.ray)
        runner = RayPhaseRunner()
    with tempfile.TemporaryDirectory(prefix="class-bench-") as workdir:
        rows, elapsed, threads = run_class(args.students, args.per_assignment, args.assignments, config, Path(workdir),
                                           runner=runner)
    waits = sorted(row.waited_seconds for row in rows)
    summary = {
        "executor": f"Ray ({args.ray})" if args.ray else "local sandboxes",
        "gradings": len(rows), "elapsed_s": round(elapsed, 1), "worker_threads": threads, "cores": cores,
        "per_hour_measured": round(3600 * len(rows) / elapsed),
        "peak_queue_wait_s": waits[-1], "median_queue_wait_s": round(statistics.median(waits), 1),
    }
    table = per_assignment(rows, cores)
    projections = [projection(rows, PROJECTED_STUDENTS, args.per_assignment, PROJECTED_MACHINE_CORES, m)
                   for m in PROJECTED_MACHINES]
    text = "\n\n".join([
        markdown(table, ["assignment", "gradings", "mean_grading_s", "mean_core_s", "per_hour_here"]),
        markdown([summary], list(summary)),
        markdown(projections, ["students", "submissions_per_assignment", "machines", "cores_per_machine",
                               "gradings", "core_hours", "hours"])])
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "command": "python -m benchmarks.class " + " ".join(argv if argv is not None else sys.argv[1:]),
        "python": platform.python_version(), "keras_backend": config.keras_backend, "machine": platform.processor()
        or platform.machine(), "summary": summary, "per_assignment": table, "projections": projections,
        "gradings": [asdict(row) for row in rows], "table": text}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
