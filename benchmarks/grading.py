"""Times grading one reference submission per assignment and the same model work in one plain process."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

from grader.assignment import load_assignment
from grader.config import REPO_ROOT, Config
from grader.grading import grade_path

# The model work each assignment's grading does, as one plain Python process would do it:
# no sandbox, one interpreter start, one Keras import, the same data and the same computations
# (benchmarks/plain.py: validation data in fit, the robustness set and feature maps too).
PLAIN_WORK = {
    "conv_ops": """
from assignments.conv_ops.checks import build_cases
import numpy as np
build_cases(np.random.default_rng(0))
""",
    "mnist_convnet": """
from benchmarks.plain import image_classifier
image_classifier("mnist_convnet", "build_model")
""",
    "lenet5": """
from benchmarks.plain import image_classifier
image_classifier("lenet5", "build_lenet5", pad=2)
""",
    "resnet": """
import keras
from reference import resnet as r
for shape, filters, stride in [((8, 8, 16), 16, 1), ((8, 8, 16), 32, 2)]:
    x = keras.Input(shape); keras.Model(x, r.basic_block(x, filters, stride))
for shape, filters, stride in [((8, 8, 64), 16, 1), ((8, 8, 64), 32, 2), ((8, 8, 16), 16, 1), ((8, 8, 16), 4, 1)]:
    x = keras.Input(shape); keras.Model(x, r.bottleneck_block(x, filters, stride))
for depth in (18, 34, 50, 101, 152):
    r.build_resnet(depth); keras.backend.clear_session()
r.build_resnet(18, input_shape=(64, 64, 3), num_classes=10)
""",
    "digit_adder": """
from benchmarks.plain import digit_adder
digit_adder()
""",
}


def plain_seconds(name: str, config: Config) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", PLAIN_WORK[name]], cwd=REPO_ROOT, check=True, capture_output=True,
                   env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **config.sandbox_env()})
    return time.perf_counter() - start


TRAINED = ("mnist_convnet", "lenet5", "digit_adder")
"""The assignments whose grading trains a model: the ones held to MAX_RATIO."""
MAX_RATIO = 1.2
"""Graded end to end, at most this many times the plain process's wall time (issue 11)."""
REFERENCE_CURVES = ("mnist_convnet", "lenet5")
"""Their reports compare with the reference's robustness curves, computed once per grader version
(grader.pictures.reference): computed before the timing, as a course's grading machine has them."""


def warm_reference_curves(name: str, config: Config) -> float:
    """Seconds spent computing (or finding) the reference's curves for `name`'s robustness set."""
    from grader.grading import GradingContext
    from grader.pictures import reference, robustness

    started = time.perf_counter()
    context = GradingContext(config, load_assignment(name), self_check=False)
    hidden = context.mnist().hidden
    images, _ = robustness.make_set(hidden.images, hidden.labels, context.secret_rng("robustness"))
    reference.robustness_of_reference(context, images)
    return time.perf_counter() - started


def split(report) -> dict[str, float]:
    """Wall time by kind of work, from the phases' wall times and the probe's own step timings:
    "imports" is the probe's import of the submission (Keras with it), "sandbox start" what no step
    covers (launching the sandbox and Python, reading inputs, writing results)."""
    parts = {"sandbox start": 0.0, "imports": 0.0, "build and describe": 0.0, "training": 0.0, "prediction": 0.0}
    for phase, wall in report.phase_seconds.items():
        steps = report.step_seconds.get(phase, {})
        accounted = 0.0
        for step, seconds in steps.items():
            kind = ("imports" if step == "import" else "training" if step == "train"
                    else "prediction" if step == "predict" or step.startswith("report_") else "build and describe")
            parts[kind] += seconds
            accounted += seconds
        parts["sandbox start"] += max(wall - accounted, 0.0)
    # Waiting for cores that other sandboxes on the machine hold (leases.py) is no work of this grading.
    parts["waiting for cores"] = sum(report.phase_queued_seconds.values())
    parts["checks (trusted side)"] = max(report.execution_seconds - sum(report.phase_seconds.values())
                                         - parts["waiting for cores"], 0.0)
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grading", description=__doc__)
    parser.add_argument("--assignments", nargs="+", default=list(PLAIN_WORK), choices=list(PLAIN_WORK))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "grading.json")
    args = parser.parse_args(argv)
    config = Config.from_env()

    rows = []
    for name in args.assignments:
        if name in REFERENCE_CURVES:
            print(f"  {name}: reference curves ready in {warm_reference_curves(name, config):.1f} s", flush=True)
        report = grade_path(REPO_ROOT / "reference" / f"{name}.py", load_assignment(name), config, student="benchmark")
        plain = plain_seconds(name, config)
        row = {"assignment": name, "score": f"{report.score:g}/{report.max_score:g}",
               "grading_wall": round(report.execution_seconds, 1),
               "grading_cpu": round(sum(report.phase_cpu_seconds.values()), 1),
               **{k: round(v, 1) for k, v in split(report).items()},
               "plain_wall": round(plain, 1), "overhead_ratio": round(report.execution_seconds / plain, 2),
               "sandbox_runs": len({line.split(":")[0] for line in report.instructor_log.splitlines()
                                    if line.startswith("== phase ")}),
               "device": report.device}
        row["target"] = f"<= {MAX_RATIO}" if name in TRAINED else ""
        row["meets_target"] = row["overhead_ratio"] <= MAX_RATIO if name in TRAINED else None
        rows.append(row)
        print(f"  {name}: {row['grading_wall']} s graded vs {row['plain_wall']} s plain", flush=True)

    columns = ["assignment", "score", "sandbox_runs", "grading_wall", "grading_cpu", "sandbox start", "imports",
               "build and describe", "training", "prediction", "waiting for cores", "checks (trusted side)", "plain_wall",
               "overhead_ratio",
               "target"]
    table = "\n".join(["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
                      + ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows])
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": "python -m benchmarks.grading", "python": platform.python_version(),
                                    "keras_backend": config.keras_backend, "rows": rows, "table": table},
                                   indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
