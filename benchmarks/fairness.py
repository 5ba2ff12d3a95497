"""Same code, same grade: one reference submission graded alone and beside N-1 copies of itself.

For each N, N copies are graded at once (as `grade-all --workers N` does, one thread and sandbox
slot each); the spread (largest minus smallest) of their scores, and of each phase's wall and CPU
time, shows whether a grade depends on what else the machine is doing. The time a phase waited for
its cores is reported apart: it is the queue, not the student's work, and no budget counts it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.assignment import assignment_names, load_assignment
from grader.config import REPO_ROOT, Config
from grader.grading import grade_path, phase_envelope
from grader.sandbox import available_cores

FIRST_SLOT = 60  # far from the slots of a grader running beside the benchmark


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor() or platform.machine())
    memory = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return f"{model}, {len(available_cores())} cores, {memory / 2**20:.0f} GiB, Linux {platform.release()}"


def graded_at_once(copies: int, source: Path, assignment, config: Config) -> list:
    with tempfile.TemporaryDirectory(prefix="fairness-") as folder:
        paths = []
        for number in range(copies):
            path = Path(folder) / f"s{number:02d}_copy.py"
            path.write_bytes(source.read_bytes())
            paths.append(path)
        with ThreadPoolExecutor(max_workers=copies) as pool:
            return list(pool.map(lambda n: grade_path(paths[n], assignment, config, student=paths[n].stem,
                                                 slot=FIRST_SLOT + n), range(copies)))


def spread(values: list[float]) -> float:
    return round(max(values) - min(values), 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fairness", description=__doc__)
    parser.add_argument("--assignment", default="digit_adder", choices=assignment_names())
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "fairness.json")
    args = parser.parse_args(argv)
    config = Config.from_env()
    assignment = load_assignment(args.assignment)
    source = REPO_ROOT / "reference" / f"{args.assignment}.py"
    envelopes = {p.name: phase_envelope(p, config) for p in assignment.phases}
    print(f"{args.assignment} on {machine()}; phases: "
          + ", ".join(f"{name} {e.seconds:g} s on {e.cpus} core{'s' if e.cpus != 1 else ''}"
                      for name, e in envelopes.items()), flush=True)

    rows = []
    for copies in args.copies:
        started = time.perf_counter()
        reports = graded_at_once(copies, source, assignment, config)
        elapsed = time.perf_counter() - started
        row = {"copies": copies, "elapsed": round(elapsed, 1),
               "scores": sorted({f"{r.score:g}/{r.max_score:g}" for r in reports}),
               "score_spread": spread([r.score for r in reports])}
        for phase in envelopes:
            walls = [r.phase_seconds.get(phase, 0.0) for r in reports]
            cpus = [r.phase_cpu_seconds.get(phase, 0.0) for r in reports]
            queued = [r.phase_queued_seconds.get(phase, 0.0) for r in reports]
            row[phase] = {"wall": [min(walls), max(walls)], "wall_spread": spread(walls),
                          "cpu": [min(cpus), max(cpus)], "cpu_spread": spread(cpus),
                          "queued_max": max(queued), "budget_used": round(max(cpus) / envelopes[phase].cpu_seconds, 3)}
        rows.append(row)
        print(f"  {copies} at once: scores {row['scores']} in {elapsed:.0f} s; "
              + "; ".join(f"{p} wall {row[p]['wall']} cpu {row[p]['cpu']} queued <= {row[p]['queued_max']:.0f} s"
                          for p in envelopes), flush=True)

    header = ["copies at once", "scores", "score spread"] + [f"{p} wall (min-max)" for p in envelopes] \
        + [f"{p} CPU (min-max)" for p in envelopes] + ["most waited for cores", "all graded in"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [str(row["copies"]), ", ".join(row["scores"]), f"{row['score_spread']:g}"]
        cells += [f"{row[p]['wall'][0]:.1f}-{row[p]['wall'][1]:.1f} s" for p in envelopes]
        cells += [f"{row[p]['cpu'][0]:.1f}-{row[p]['cpu'][1]:.1f} s" for p in envelopes]
        cells += [f"{max(row[p]['queued_max'] for p in envelopes):.0f} s", f"{row['elapsed']:.0f} s"]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "command": "python -m benchmarks.fairness " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(), "python": platform.python_version(), "keras_backend": config.keras_backend,
        "load_average_after": os.getloadavg(), "assignment": args.assignment, "rows": rows, "table": table},
        indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
