"""Well-formed observations as each assignment's probe writes them, and a way to score a check on them.

The checks' tests start from these (they earn full marks) and break one piece at a time; no sandbox
runs. The model descriptions follow grader/probe/keras_probe.py's describe_model.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from assignments.conv_ops import checks as conv_ops
from assignments.lenet5 import checks as lenet5
from assignments.resnet import checks as resnet
from grader.assignment import Check, Evidence, PhaseOutcome
from grader.checks import NotObserved
from grader.pictures import robustness
from grader.pictures.reference import ReferenceCurves
from grader.sandbox.observations import ObservationError

HIDDEN = 20
"""Hidden digits (or pairs) that the predict phases answer: few, so that the tests stay fast."""


@dataclass(frozen=True)
class Outcome:
    """A check's result as grading would record it."""

    status: str
    fraction: float
    message: str


def score(check: Check, evidence: Evidence) -> Outcome:
    """Runs `check` as grader/grading.py does: NotObserved and ObservationError are an error, zero points."""
    try:
        verdict = check.run(evidence)
    except (NotObserved, ObservationError) as error:
        return Outcome("error", 0.0, str(error))
    status = "passed" if verdict.fraction == 1 else "failed" if verdict.fraction == 0 else "partial"
    return Outcome(status, verdict.fraction, verdict.message)


def driver_keys(phase: str, *steps: str) -> dict:
    """What grader/probe/driver.py writes in every phase."""
    return {"errors": {}, "seconds": {step: 0.25 for step in ("import", *steps)}, "phase": phase,
            "wall_seconds": 3.5, "device": "CPU: test, 2 cores"}


def layer(name: str, kind: str, shape: list | None, trainable: int = 0, kernel: list | None = None,
          non_trainable: int = 0) -> dict:
    return {"name": name, "class": kind, "trainable_params": trainable, "non_trainable_params": non_trainable,
            "output_shape": shape, "input_shape": None, "kernel_shape": kernel, "config": {"activation": "relu"}}


def model(inputs: list, outputs: list, layers: list[dict]) -> dict:
    return {"class": "Functional", "input_shapes": inputs, "output_shapes": outputs,
            "trainable_params": sum(entry["trainable_params"] for entry in layers),
            "non_trainable_params": sum(entry["non_trainable_params"] for entry in layers), "layers": layers}


MNIST_MODEL = model([[None, 28, 28, 1]], [[None, 10]], [
    layer("image", "InputLayer", [None, 28, 28, 1]),
    layer("conv1", "Conv2D", [None, 28, 28, 4], 104, [5, 5, 1, 4]),
    layer("pool1", "MaxPooling2D", [None, 14, 14, 4]),
    layer("conv2", "Conv2D", [None, 14, 14, 8], 808, [5, 5, 4, 8]),
    layer("pool2", "MaxPooling2D", [None, 7, 7, 8]),
    layer("flatten", "Flatten", [None, 392]),
    layer("fc1", "Dense", [None, 512], 201_216, [392, 512]),
    layer("fc2", "Dense", [None, 10], 5_130, [512, 10]),
])
LENET_MODEL = model([[None, 32, 32, 1]], [[None, 10]], [
    layer("image", "InputLayer", [None, 32, 32, 1]),
    layer("c1", "Conv2D", [None, 28, 28, 6], 156, [5, 5, 1, 6]),
    layer("s2", "Subsampling", [None, 14, 14, 6], 12),
    layer("c3", "SparseConv2D", [None, 10, 10, 16], 1_516, [5, 5, 60]),
    layer("s4", "Subsampling", [None, 5, 5, 16], 32),
    layer("c5", "Conv2D", [None, 1, 1, 120], 48_120, [5, 5, 16, 120]),
    layer("flatten", "Flatten", [None, 120]),
    layer("f6", "Dense", [None, 84], 10_164, [120, 84]),
    layer("output", "EuclideanRBF", [None, 10], 0, non_trainable=840),
])
ADDER_MODEL = model([[None, 28, 28, 1], [None, 28, 28, 1]], [[None, 19]], [
    layer("image_a", "InputLayer", [None, 28, 28, 1]),
    layer("image_b", "InputLayer", [None, 28, 28, 1]),
    layer("digit_reader", "Functional", None, 1_000, None),  # called twice: no single output shape
    layer("digit_reader/conv", "Conv2D", [None, 26, 26, 8], 80, [3, 3, 1, 8]),
    layer("pair", "Concatenate", [[None, 10], [None, 10]]),
    layer("sum", "Dense", [None, 19], 399, [20, 19]),
])


def resnet_model(depth: int) -> dict:
    """A description whose parameters are the paper's and whose multiply-adds are its FLOPs."""
    stem = layer("conv1_conv", "Conv2D", [None, 112, 112, 64], 9_408, [7, 7, 3, 64])
    head = layer("predictions", "Dense", [None, 1000], 513_000, [512, 1000])
    rest = int(resnet.PAPER_MULTIPLY_ADDS[depth]) - 112 * 112 * math.prod([7, 7, 3, 64]) - 512 * 1000
    body = layer("conv2_block1_1_conv", "Conv2D", [None, 1, 1, rest], resnet.PARAMS[depth] - 9_408 - 513_000,
                 [1, 1, 1, rest])
    pool = layer("pool", "MaxPooling2D", [None, 56, 56, 64])
    return model([[None, 224, 224, 3]], [[None, 1000]],
                 [layer("input", "InputLayer", [None, 224, 224, 3]), stem, pool, body, head])


ROBUSTNESS_BLOCKS = (robustness.UNTOUCHED, *((transform, level) for transform, levels in robustness.LEVELS.items()
                                           for level in levels[1:]))
"""The blocks of transformed digits a predict phase answers, as grader.pictures.robustness.make_set orders them."""


def _probabilities(rows: int, classes: int) -> np.ndarray:
    return np.full((rows, classes), 1 / classes, dtype="float32")


def _one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes, dtype="float32")[labels]


def _phase(name: str, out_dir: Path, observations: dict, arrays: dict[str, np.ndarray] | None = None) -> PhaseOutcome:
    folder = out_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    for file, array in (arrays or {}).items():
        np.save(folder / f"{file}.npy", array, allow_pickle=False)
    return PhaseOutcome(name, True, observations, folder)


def _model_phases(out_dir: Path, builder: str, description: dict, classes: int, extra: dict | None = None,
                  ) -> tuple[dict[str, PhaseOutcome], dict]:
    labels = np.arange(HIDDEN) % classes
    history = {"loss": [0.5, 0.2], "accuracy": [0.8, 0.9], "val_loss": [0.4, 0.3], "val_accuracy": [0.85, 0.9]}
    conv = next(entry for entry in description["layers"] if entry["class"] == "Conv2D"
                or entry["name"].endswith("/conv"))
    predict = {**driver_keys("predict", builder, "predict"), "predicted": HIDDEN,
               "kernel_layer": {"name": conv["name"], "shape": conv["kernel_shape"]}}
    predict_arrays = {"predictions": _one_hot(labels, classes),
                      "kernels": np.ones(conv["kernel_shape"], dtype="float32")}
    secrets = {"hidden_labels": labels, "full_mnist": False}
    if classes == 10:  # single digits: the report's feature maps and robustness digits too
        maps = conv["output_shape"]
        predict |= {"feature_maps": [{"layer": conv["name"], "kind": "Conv2D", "maps": maps[-1]}],
                    "robustness_predicted": HIDDEN * len(ROBUSTNESS_BLOCKS)}
        predict_arrays |= {"feature_maps_0": np.ones((2, *maps[1:]), dtype="float32"),
                           "robustness_predictions": _one_hot(np.tile(labels, len(ROBUSTNESS_BLOCKS)), classes)}
        plan = robustness.RobustnessPlan(labels, ROBUSTNESS_BLOCKS)
        curves = robustness.curves(plan, predict_arrays["robustness_predictions"])
        secrets |= {"report_digits": np.zeros((2, 28, 28), dtype=np.uint8), "report_shift": (3, 3),
                    "robustness": plan, "reference_robustness": ReferenceCurves(curves)}
    phases = {
        "build": _phase("build", out_dir, {**driver_keys("build", builder, "forward"), "model": description,
                                           "forward": [16, classes], **(extra or {})},
                        {"probe_outputs": _probabilities(16, classes)}),
        "train": _phase("train", out_dir, {**driver_keys("train", builder, "train"), "history": history,
                                           "train_size": 7200, "validation_size": 800, "trained": True}),
        "predict": _phase("predict", out_dir, predict, predict_arrays),
    }
    return phases, secrets


def _conv_ops(out_dir: Path) -> Evidence:
    cases = conv_ops.build_cases(np.random.default_rng(3))
    results, arrays = {}, {}
    for case in cases:
        if case.expected is ValueError:
            results[case.id] = {"error": {"type": "ValueError", "message": "the stride does not fit"}}
        elif np.isscalar(case.expected):
            results[case.id] = {"scalar": case.expected}
        else:
            results[case.id] = {"array": case.id, "type": "ndarray"}
            arrays[case.id] = np.asarray(case.expected, dtype=np.float64)
    phase = _phase("run", out_dir, {**driver_keys("run"), "frameworks_loaded": [], "results": results}, arrays)
    return Evidence({"run": phase}, {"cases": {case.id: case for case in cases}, "imported_modules": ["numpy"]})


def _resnet(out_dir: Path) -> Evidence:
    block_input = np.random.default_rng(11).normal(size=(4, 8, 8, 16)).astype("float32")
    observations = driver_keys("build", *resnet.BLOCK_SHAPES, "basic_zeroed", "bottleneck_zeroed")
    for key, shape in resnet.BLOCK_SHAPES.items():
        observations[key] = model([[None, 8, 8, 16]], [shape], [
            layer(f"{key}_conv", "Conv2D", shape, resnet.BLOCK_PARAMS[key], [3, 3, 16, shape[-1]])])
    observations |= {"basic_zeroed": True, "bottleneck_zeroed": True}
    observations |= {f"resnet{depth}": resnet_model(depth) for depth in resnet.PARAMS}
    small_input = layer("input", "InputLayer", [None, 64, 64, 3])
    observations["resnet18_small"] = model([[None, 64, 64, 3]], [[None, 10]], [small_input])
    relu = np.maximum(block_input, 0)
    phase = _phase("build", out_dir, observations, {"basic_zeroed": relu, "bottleneck_zeroed": relu})
    return Evidence({"build": phase}, {"block_input": block_input})


def honest_evidence(assignment: str, out_dir: Path) -> Evidence:
    """What grading a correct submission of `assignment` gives the checks; its arrays are written under `out_dir`."""
    if assignment == "conv_ops":
        return _conv_ops(out_dir)
    if assignment == "resnet":
        return _resnet(out_dir)
    if assignment == "mnist_convnet":
        phases, secrets = _model_phases(out_dir, "build_model", MNIST_MODEL, 10)
    elif assignment == "lenet5":
        reacts = [[i in maps for maps in lenet5.C3_TABLE] for i in range(6)]
        phases, secrets = _model_phases(out_dir, "build_lenet5", LENET_MODEL, 10, {"c3_reacts": reacts})
    elif assignment == "digit_adder":
        phases, secrets = _model_phases(out_dir, "build_adder", ADDER_MODEL, 19)
    else:
        raise ValueError(f"no honest observations for {assignment!r}")
    return Evidence(phases, secrets)


Where = tuple[str | int, ...]
"""A position in a JSON value: object keys and list indices from the top."""


def paths(value: Any, prefix: Where = ()) -> Iterator[Where]:
    """Every position in a JSON value: the keys of objects and the indices of lists, depth first."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield (*prefix, key)
        yield from paths(inner, (*prefix, key))


def get(value: Any, path: Where) -> Any:
    for key in path:
        value = value[key]
    return value


def replaced(evidence: Evidence, phase: str, path: Where, new: Any) -> Evidence:
    """A copy of `evidence` with the observation at `path` of `phase` replaced by `new`."""
    outcome = evidence.phases[phase]
    observations = copy.deepcopy(outcome.observations)
    if path:
        get(observations, path[:-1])[path[-1]] = new
    else:
        observations = new
    phases = dict(evidence.phases)
    phases[phase] = PhaseOutcome(outcome.name, outcome.ran, observations, outcome.out_dir)
    return Evidence(phases, evidence.secrets)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]
