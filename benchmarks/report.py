"""Times drawing and writing one feedback report per assignment, and measures what it weighs.

Each assignment's report is made from the Figures of its latest graded submission in a gradebook
(--db) where one has them, else from realistic synthetic Figures of the reference model's sizes:
activations of a drawn digit through random kernels (smooth, as real ones are, so the PNGs compress
as real ones do), curves of the course recipe's epochs, a confusion matrix over 2,000 hidden digits.
"largest" is every bound the probe allows at once (12 layers of 16 maps of 64x64, 64 kernels of
16x16x4, 1,000 epochs, 19 classes, 4 wrong conv_ops examples): no report can weigh more. Draw and
write are timed apart (median of --repeat runs, in this process, matplotlib already imported);
command_s is `python -m grader report` end to end in a fresh interpreter (imports, gradebook read,
drawing, writing), and the drawing code's import alone is timed in one too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from benchmarks.fairness import machine
from grader.config import REPO_ROOT
from grader.pictures.draw import draw
from grader.pictures.figures import Difference, FeatureMaps, Figures, LayerRow, LearningCurves, RobustnessCurve
from grader.pictures.page import write_report
from grader.results import CheckResult

LEVELS = {"shift": (0, 1, 2, 3, 4), "rotation": (0, 5, 10, 15, 20, 25, 30),
          "noise": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)}
CASES = ("lenet5", "mnist_convnet", "resnet", "digit_adder", "conv_ops", "largest")


def digit_pair(shift: int = 3) -> np.ndarray:
    """A drawn "7" and the same shifted `shift` pixels down and right, (2, 28, 28) uint8."""
    digit = np.zeros((28, 28), np.uint8)
    digit[6:9, 7:21] = 255
    for row in range(9, 23):
        column = 20 - (row - 9) // 2
        digit[row, column - 1:column + 2] = 255
    return np.stack([digit, np.roll(digit, (shift, shift), axis=(0, 1))])


def activations(images: np.ndarray, kernels: np.ndarray, pool_after: bool) -> tuple[np.ndarray, np.ndarray]:
    """Valid convolution of (2, h, w, c) images with (k, k, c, n) kernels, tanh; and its 2x2 average pool."""
    k = kernels.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(images, (k, k), axis=(1, 2))  # (2, h', w', c, k, k)
    maps = np.tanh(np.einsum("bhwcij,ijcn->bhwn", windows, kernels))
    if not pool_after:
        return maps, maps
    h, w = maps.shape[1] // 2 * 2, maps.shape[2] // 2 * 2
    pooled = maps[:, :h, :w].reshape(2, h // 2, 2, w // 2, 2, -1).mean(axis=(2, 4))
    return maps, pooled


def feature_maps(layers: list[tuple[str, int, int]], rng: np.random.Generator, side: int = 28,
                 maps_kept: int = 16) -> tuple[np.ndarray, tuple[FeatureMaps, ...]]:
    """The first kernels and each layer's maps of digit_pair() through `layers` (name, kernel, maps):
    each convolution followed by a pooling layer named after it."""
    images = digit_pair().astype(np.float32)[..., None] / 255.0
    if side != 28:
        images = np.repeat(np.repeat(images, -(-side // 28), axis=1), -(-side // 28), axis=2)[:, :side, :side]
    first, out = None, []
    for name, kernel, count in layers:
        kernels = rng.normal(0, 1 / kernel, (kernel, kernel, images.shape[-1], count)).astype(np.float32)
        first = kernels if first is None else first
        conv, pooled = activations(images, kernels, pool_after=True)
        out.append(FeatureMaps(name, "Conv2D", conv[0, ..., :maps_kept], conv[1, ..., :maps_kept], count))
        out.append(FeatureMaps(f"{name}_pool", "AveragePooling2D", pooled[0, ..., :maps_kept],
                               pooled[1, ..., :maps_kept], count))
        images = pooled[..., :8]  # the next layer sees a few maps: enough for structure, cheap to compute
    return first, tuple(out)


def curves(epochs: int, validation: bool, rng: np.random.Generator, train_size: int | None = 7200) -> LearningCurves:
    t = np.arange(1, epochs + 1)
    loss = 2.0 * np.exp(-t / 3) + 0.05 + rng.normal(0, 0.01, epochs)
    val = 2.0 * np.exp(-t / 3) + 0.1 + 0.004 * t + rng.normal(0, 0.01, epochs)
    return LearningCurves(tuple(loss), tuple(1 - loss / 2.2), tuple(val) if validation else (),
                          tuple(1 - val / 2.2) if validation else (), train_size,
                          800 if validation and train_size else None)


def confusion(classes: int, total: int, accuracy: float, rng: np.random.Generator) -> np.ndarray:
    truth = rng.integers(0, classes, total)
    predicted = np.where(rng.random(total) < accuracy, truth, rng.integers(0, classes, total))
    return np.bincount(truth * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def robustness(top: float, rng: np.random.Generator) -> tuple[RobustnessCurve, ...]:
    return tuple(RobustnessCurve(name, levels, tuple(np.clip(top - np.linspace(0, 0.45, len(levels))
                                                             + rng.normal(0, 0.01, len(levels)), 0, 1)), 400)
                 for name, levels in LEVELS.items())


def layer_rows(shapes: dict[str, tuple[list, int]], wrong: str | None = None) -> tuple[LayerRow, ...]:
    return tuple(LayerRow(name, "Layer", [*shape[:-1], shape[-1] + (2 if name == wrong else 0)], params, shape, params)
                 for name, (shape, params) in shapes.items())


def synthetic(case: str) -> Figures:
    """Figures of the sizes a grading of `case` gives (see the module docstring)."""
    rng = np.random.default_rng(0)
    if case == "lenet5":
        kernels, maps = feature_maps([("c1", 5, 6), ("c3", 5, 16)], rng)
        return Figures(layers=layer_rows({"c1": ([None, 28, 28, 6], 156), "s2": ([None, 14, 14, 6], 12),
                                          "c3": ([None, 10, 10, 16], 1516), "s4": ([None, 5, 5, 16], 32),
                                          "c5": ([None, 1, 1, 120], 48120), "f6": ([None, 84], 10164),
                                          "output": ([None, 10], 0)}, wrong="c3"),
                       kernel_layer="c1", kernels=kernels, digit=digit_pair(), shift_pixels=(3, 3), feature_maps=maps,
                       curves=curves(20, True, rng), confusion=confusion(10, 2000, 0.97, rng),
                       robustness=robustness(0.97, rng), reference_robustness=robustness(0.985, rng))
    if case == "mnist_convnet":
        kernels, maps = feature_maps([("conv1", 5, 4), ("conv2", 5, 8)], rng)
        return Figures(layers=layer_rows({"conv1": ([None, 28, 28, 4], 104), "pool1": ([None, 14, 14, 4], 0),
                                          "conv2": ([None, 14, 14, 8], 808), "pool2": ([None, 7, 7, 8], 0),
                                          "flatten": ([None, 392], 0), "fc1": ([None, 512], 201216),
                                          "dropout": ([None, 512], 0), "fc2": ([None, 10], 5130)}),
                       kernel_layer="conv1", kernels=kernels, digit=digit_pair(), shift_pixels=(3, 3), feature_maps=maps,
                       curves=curves(15, True, rng), confusion=confusion(10, 2000, 0.98, rng),
                       robustness=robustness(0.98, rng), reference_robustness=robustness(0.985, rng))
    if case == "resnet":
        shapes = {f"conv{stage}_block{block}_{part}": ([None, 56 // 2 ** (stage - 2), 56 // 2 ** (stage - 2),
                                                        64 * 2 ** (stage - 2)], 36928 * 4 ** (stage - 2))
                  for stage in range(2, 6) for block in (1, 2) for part in ("1_conv", "2_conv", "out")}
        return Figures(layers=layer_rows({"conv1_conv": ([None, 112, 112, 64], 9472), **shapes}),
                       kernel_layer="conv1_conv", kernels=rng.normal(0, 0.05, (7, 7, 3, 64)),
                       missing={"curves": "this assignment builds the network without training it"})
    if case == "digit_adder":
        kernels, maps = feature_maps([("conv", 3, 16)], rng)
        return Figures(kernel_layer="conv", kernels=kernels, digit=digit_pair(), shift_pixels=(3, 3),
                       feature_maps=maps, curves=curves(10, False, rng, train_size=None),
                       confusion=confusion(19, 2000, 0.9, rng))
    if case == "conv_ops":
        expected = rng.normal(size=(6, 6))
        return Figures(differences=(Difference("worked example 2 (stride 1, padding 1)", expected[::-1, ::-1], expected),
                                    Difference("worked example 3 (stride 2)", rng.normal(size=(3, 3)), expected[:3, :3])))
    if case == "largest":
        _, [first, *_] = feature_maps([("conv1", 3, 64)], rng, side=66)
        big = rng.normal(size=(32, 32))
        # Twelve layers of the first one's 64x64 maps, each moved a little: as large as the probe allows.
        maps = tuple(FeatureMaps(f"layer{n}", "Conv2D", np.roll(first.original, n, axis=(0, 1)),
                                 np.roll(first.shifted, n, axis=(0, 1)), 64) for n in range(12))
        return Figures(layers=layer_rows({f"layer{n}": ([None, 64, 64, 64], 36928) for n in range(60)}),
                       kernel_layer="conv1", kernels=rng.normal(size=(16, 16, 4, 64)), digit=digit_pair(),
                       shift_pixels=(3, 3), feature_maps=maps,
                       curves=curves(1000, True, rng), confusion=confusion(19, 2000, 0.5, rng),
                       robustness=robustness(0.9, rng), reference_robustness=robustness(0.95, rng),
                       differences=tuple(Difference(f"worked example {n}", big + n, big) for n in range(4)))
    raise ValueError(f"Expected one of {', '.join(CASES)}. Received case={case!r}.")


def from_gradebook(url: str, assignment: str) -> tuple[Figures, list[CheckResult], int] | None:
    """The figures and checks of the assignment's latest graded submission that has them."""
    from grader.store import Gradebook

    with Gradebook(url, read_only=True) as gradebook:
        for row in sorted(gradebook.finished(assignment), key=lambda r: r.id, reverse=True):
            figures = gradebook.figures(row.id)
            if figures is not None:
                return figures, gradebook.check_results(row.id), row.id
    return None


def import_seconds() -> float:
    """Seconds a fresh interpreter takes to import the drawing code (matplotlib included)."""
    code = "import time; t = time.perf_counter(); import grader.pictures.page; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    return float(done.stdout.strip())


def command_seconds(case: str, figures: Figures, checks: list[CheckResult], folder: Path) -> float:
    """Wall time of `python -m grader report ID --out DIR` in a fresh interpreter, on a gradebook of
    its own holding one grading with these figures: what staff wait for, imports included."""
    from grader.intake import Artifact
    from grader.results import GradingReport
    from grader.store import Gradebook

    url = f"sqlite:///{folder / 'grades.db'}"
    assignment = case if case in CASES[:-1] else "lenet5"
    with Gradebook(url) as gradebook:
        submission_id, _ = gradebook.add_submission("benchmark", assignment, Artifact.of("s.py", case.encode()),
                                                    submitted_at=datetime.now(timezone.utc), time_source="received")
        gradebook.record_report(submission_id, GradingReport(assignment, "benchmark", checks, grader_version="bench",
                                                             figures=figures))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "report", str(submission_id), "--out", str(folder / "cli"),
                    "--db", url], cwd=REPO_ROOT, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "GRADER_KERAS_DOWNLOAD": "0"})
    return time.perf_counter() - start


def measure(case: str, figures: Figures, checks: list[CheckResult], repeat: int, source: str) -> dict:
    draws, writes = [], []
    with tempfile.TemporaryDirectory(prefix="report-bench-") as folder:
        command = command_seconds(case, figures, checks, Path(folder))
        for run in range(repeat):
            start = time.perf_counter()
            pictures = draw(figures)
            drawn = time.perf_counter()
            page = write_report(Path(folder) / str(run), title=f"{case}: feedback report", who="benchmark",
                                figures=figures, checks=checks, notes=(), pictures=pictures)
            draws.append(drawn - start)
            writes.append(time.perf_counter() - drawn)
        files = list(page.parent.iterdir())
        sizes = {path.name: path.stat().st_size for path in files}
    return {"assignment": case, "figures_from": source, "pictures": len(pictures),
            "draw_s": round(statistics.median(draws), 2), "write_ms": round(1000 * statistics.median(writes), 1),
            "command_s": round(command, 1),
            "report_bytes": sum(sizes.values()), "html_bytes": sizes["report.html"],
            "largest_png_bytes": max((v for k, v in sizes.items() if k.endswith(".png")), default=0),
            "largest_png": max((k for k in sizes if k.endswith(".png")), key=sizes.get, default="-")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--db", help="take each assignment's Figures from this gradebook where it has them")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--note", default="", help="said with the results, e.g. that other work shared the machine")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "report.json")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    imported = import_seconds()
    checks = [CheckResult.scored("layer output shapes", 4, 0.75,
                                 "Layer 'c3': output shape got (None, 10, 10, 18), expected (None, 10, 10, 16).")]
    rows = []
    for case in args.cases:
        real = from_gradebook(args.db, case) if args.db and case != "largest" else None
        figures, case_checks, source = (real[0], real[1], f"submission {real[2]}") if real else \
            (synthetic(case), checks, "synthetic")
        row = measure(case, figures, case_checks, args.repeat, source)
        rows.append(row)
        print(f"  {case}: {row['pictures']} pictures drawn in {row['draw_s']} s, {row['report_bytes']:,} bytes",
              flush=True)

    columns = ["assignment", "figures_from", "pictures", "draw_s", "write_ms", "command_s", "report_bytes", "html_bytes",
               "largest_png", "largest_png_bytes"]
    table = "\n".join(["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
                      + ["| " + " | ".join(f"{row[c]:,}" if isinstance(row[c], int) else str(row[c]) for c in columns)
                         + " |" for row in rows])
    print(table)
    print(f"importing the drawing code (matplotlib included) in a fresh interpreter: {imported:.2f} s")
    import matplotlib

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "command": "python -m benchmarks.report " + " ".join(argv if argv is not None else sys.argv[1:]),
        "python": platform.python_version(), "matplotlib": matplotlib.__version__, "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(), "note": args.note, "import_s": round(imported, 2), "rows": rows,
        "table": table}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
