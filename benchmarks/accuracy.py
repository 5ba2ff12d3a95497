"""Trains each trainable reference model on the public split and scores it on the hidden one."""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from grader.config import REPO_ROOT, Config
from grader.data import DataError, MnistData, load_mnist

HIDDEN_PAIRS = 2000
PAIR_SEED = 404  # the benchmark's own pairs; the grader draws its hidden pairs with a secret seed

# (sample of 10k digits, full MNIST): the accuracy each reference must reach.
TARGETS = {
    "mnist_convnet": (0.975, 0.99),
    "lenet5": (0.965, 0.99),
    "digit_adder": (0.95, 0.98),
}


@dataclass
class Result:
    """One model's row of the table."""

    model: str
    accuracy: float
    target: float
    evaluated_on: str
    train_seconds: float
    train_images_per_second: float
    predict_images_per_second: float
    epochs: int


def as_float_images(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1], what every model of the course reads."""
    return (images.astype("float32") / 255.0)[..., None]


def _timed_fit_and_accuracy(model, x_train, y_train, x_test, y_test, epochs, batch_size):
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted = model.predict(x_test, batch_size=512, verbose=0).argmax(axis=1)
    predict_seconds = time.perf_counter() - start
    accuracy = float((predicted == y_test).mean())
    return accuracy, train_seconds, len(x_test) / predict_seconds


def bench_convnet(data: MnistData, epochs: int | None, target: float) -> Result:
    from reference import mnist_convnet

    epochs = epochs or mnist_convnet.EPOCHS
    model = mnist_convnet.compile_model(mnist_convnet.build_model(), len(data.public), epochs=epochs)
    accuracy, seconds, predict_rate = _timed_fit_and_accuracy(
        model, as_float_images(data.public.images), data.public.labels,
        as_float_images(data.hidden.images), data.hidden.labels, epochs, mnist_convnet.BATCH_SIZE)
    return Result("mnist_convnet", accuracy, target, f"{len(data.hidden):,} hidden digits", seconds,
                  epochs * len(data.public) / seconds, predict_rate, epochs)


def bench_lenet5(data: MnistData, epochs: int | None, target: float) -> Result:
    from reference import lenet5

    epochs = epochs or lenet5.EPOCHS
    model = lenet5.compile_lenet5(lenet5.build_lenet5(), len(data.public), epochs=epochs)
    accuracy, seconds, predict_rate = _timed_fit_and_accuracy(
        model, lenet5.pad_to_32(as_float_images(data.public.images)), data.public.labels,
        lenet5.pad_to_32(as_float_images(data.hidden.images)), data.hidden.labels, epochs, lenet5.BATCH_SIZE)
    return Result("lenet5", accuracy, target, f"{len(data.hidden):,} hidden digits", seconds,
                  epochs * len(data.public) / seconds, predict_rate, epochs)


def bench_digit_adder(data: MnistData, epochs: int | None, target: float) -> Result:
    from reference import digit_adder

    epochs = epochs or digit_adder.EPOCHS
    start = time.perf_counter()
    model = digit_adder.train_adder(digit_adder.build_adder(), as_float_images(data.public.images),
                                    data.public.labels, epochs=epochs)
    seconds = time.perf_counter() - start

    rng = np.random.default_rng(PAIR_SEED)
    first, second = rng.integers(0, len(data.hidden), (2, HIDDEN_PAIRS))
    hidden = as_float_images(data.hidden.images)
    start = time.perf_counter()
    predicted = model.predict([hidden[first], hidden[second]], batch_size=512, verbose=0).argmax(axis=1)
    predict_rate = HIDDEN_PAIRS / (time.perf_counter() - start)
    truth = data.hidden.labels[first].astype(int) + data.hidden.labels[second]
    pairs_seen = epochs * digit_adder.PAIRS_PER_DIGIT * len(data.public)
    return Result("digit_adder", float((predicted == truth).mean()), target,
                  f"{HIDDEN_PAIRS:,} pairs of hidden digits", seconds, pairs_seen / seconds, predict_rate, epochs)


BENCHES = {"mnist_convnet": bench_convnet, "lenet5": bench_lenet5, "digit_adder": bench_digit_adder}


def format_table(results: list[Result], quick: bool) -> str:
    header = ("| model | accuracy | target | evaluated on | epochs | train time | train img/s | predict img/s |\n"
              "|---|---|---|---|---|---|---|---|")
    def verdict(r: Result) -> str:
        return "(quick)" if quick else "ok" if r.accuracy >= r.target else "BELOW"

    rows = [f"| {r.model} | {r.accuracy:.2%} {verdict(r)} | {r.target:.1%} "
            f"| {r.evaluated_on} | {r.epochs} | {r.train_seconds:.0f} s | {r.train_images_per_second:,.0f} "
            f"| {r.predict_images_per_second:,.0f} |" for r in results]
    return "\n".join([header, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one epoch each: a smoke run, not the targets")
    parser.add_argument("--models", nargs="+", choices=sorted(BENCHES), default=list(BENCHES))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "accuracy.json")
    args = parser.parse_args(argv)

    import keras

    from grader.probe.device import describe_device

    # TensorFlow warns about re-tracing when several models predict in one process; harmless here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    keras.utils.set_random_seed(0)
    try:
        data = load_mnist(Config.from_env())
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    full = len(data.public) >= 60000
    device = describe_device()
    print(data.describe())
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}, {device}"
          + (" (quick mode: one epoch each, accuracy targets do not apply)" if args.quick else ""))

    results = []
    for name in args.models:
        results.append(BENCHES[name](data, 1 if args.quick else None, TARGETS[name][full]))
        print(f"  {name}: {results[-1].accuracy:.2%} in {results[-1].train_seconds:.0f} s", flush=True)
    table = format_table(results, args.quick)
    print(table)

    report = {
        "command": "python -m benchmarks.accuracy" + (" --quick" if args.quick else ""),
        "data_source": data.source, "public": len(data.public), "hidden": len(data.hidden),
        "keras": keras.__version__, "backend": keras.backend.backend(), "device": device,
        "python": platform.python_version(), "quick": args.quick,
        "results": [asdict(r) for r in results], "table": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    below = [r.model for r in results if r.accuracy < r.target]
    return 1 if below and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
