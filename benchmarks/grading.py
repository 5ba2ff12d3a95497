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
# no sandbox, one interpreter start, one Keras import, the same data.
PLAIN_WORK = {
    "conv_ops": """
from assignments.conv_ops.checks import build_cases
import numpy as np
build_cases(np.random.default_rng(0))
""",
    "mnist_convnet": """
from benchmarks.accuracy import as_float_images
from grader.data import load_mnist
from grader.config import Config
from reference import mnist_convnet as m
data = load_mnist(Config(use_keras_download=False))
model = m.compile_model(m.build_model(), len(data.public))
model.fit(as_float_images(data.public.images), data.public.labels, epochs=m.EPOCHS, batch_size=m.BATCH_SIZE, verbose=0)
model.predict(as_float_images(data.hidden.images), batch_size=500, verbose=0)
""",
    "lenet5": """
from benchmarks.accuracy import as_float_images
from grader.data import load_mnist
from grader.config import Config
from reference import lenet5 as m
data = load_mnist(Config(use_keras_download=False))
model = m.compile_lenet5(m.build_lenet5(), len(data.public))
model.fit(m.pad_to_32(as_float_images(data.public.images)), data.public.labels, epochs=m.EPOCHS, batch_size=m.BATCH_SIZE, verbose=0)
model.predict(m.pad_to_32(as_float_images(data.hidden.images)), batch_size=500, verbose=0)
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
import numpy as np
from benchmarks.accuracy import as_float_images
from grader.data import load_mnist
from grader.config import Config
from reference import digit_adder as d
data = load_mnist(Config(use_keras_download=False))
model = d.train_adder(d.build_adder(), as_float_images(data.public.images), data.public.labels)
first, second = np.random.default_rng(0).integers(0, len(data.hidden), (2, 2000))
hidden = as_float_images(data.hidden.images)
model.predict([hidden[first], hidden[second]], batch_size=500, verbose=0)
""",
}


def plain_seconds(name: str, config: Config) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", PLAIN_WORK[name]], cwd=REPO_ROOT, check=True, capture_output=True,
                   env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **config.sandbox_env()})
    return time.perf_counter() - start


def split(report) -> dict[str, float]:
    """Wall time by kind of work, from the phases' wall times and the probe's own step timings."""
    parts = {"sandbox start + imports": 0.0, "build and describe": 0.0, "training": 0.0, "prediction": 0.0}
    for phase, wall in report.phase_seconds.items():
        steps = report.step_seconds.get(phase, {})
        accounted = 0.0
        for step, seconds in steps.items():
            if step == "import":
                continue
            kind = ("training" if step == "train" else "prediction" if step == "predict"
                    else "build and describe")
            parts[kind] += seconds
            accounted += seconds
        parts["sandbox start + imports"] += max(wall - accounted, 0.0)
    parts["checks (trusted side)"] = max(report.execution_seconds - sum(report.phase_seconds.values()), 0.0)
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grading", description=__doc__)
    parser.add_argument("--assignments", nargs="+", default=list(PLAIN_WORK), choices=list(PLAIN_WORK))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "grading.json")
    args = parser.parse_args(argv)
    config = Config.from_env()

    rows = []
    for name in args.assignments:
        report = grade_path(REPO_ROOT / "reference" / f"{name}.py", load_assignment(name), config, student="benchmark")
        plain = plain_seconds(name, config)
        row = {"assignment": name, "score": f"{report.score:g}/{report.max_score:g}",
               "grading_wall": round(report.execution_seconds, 1),
               "grading_cpu": round(sum(report.phase_cpu_seconds.values()), 1),
               **{k: round(v, 1) for k, v in split(report).items()},
               "plain_wall": round(plain, 1), "overhead_ratio": round(report.execution_seconds / plain, 2),
               "device": report.device}
        rows.append(row)
        print(f"  {name}: {row['grading_wall']} s graded vs {row['plain_wall']} s plain", flush=True)

    columns = ["assignment", "score", "grading_wall", "grading_cpu", "sandbox start + imports", "build and describe",
               "training", "prediction", "checks (trusted side)", "plain_wall", "overhead_ratio"]
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
