"""Assignment 4 (resnet): what is checked, for how many points."""

import math
from pathlib import Path

import numpy as np

from grader.assignment import Assignment, Check, Evidence, ExpectedLayer, Phase, Verdict
from grader.checks import (INTEGER, OBJECT, SHAPE, SHAPES, SIZE, Malformed, NotObserved, entry, fmt_shape, list_of,
                           observed)
from grader.checks.model import model_layers
from grader.sandbox.observations import read_array

# What each model the probe builds must be: the five blocks (as the probe calls them), the five depths
# at their defaults, and ResNet-18 for 64x64x3 inputs and 10 classes. Trainable parameters follow the
# paper's conventions: no conv bias, BN after every conv, a projection only where the shape changes.
# The checks below and the report's table both read this one table.
EXPECTED_MODELS = {
    "basic_identity": ExpectedLayer([None, 8, 8, 16], 9 * 16 * 16 + 9 * 16 * 16 + 2 * 32),
    "basic_downsample": ExpectedLayer([None, 4, 4, 32], 9 * 16 * 32 + 9 * 32 * 32 + 2 * 64 + (16 * 32 + 64)),
    "bottleneck_identity": ExpectedLayer([None, 8, 8, 64], 64 * 16 + 9 * 16 * 16 + 16 * 64 + 2 * (16 + 16 + 64)),
    "bottleneck_downsample": ExpectedLayer([None, 4, 4, 128], 64 * 32 + 9 * 32 * 32 + 32 * 128 + 2 * (32 + 32 + 128)
                                           + (64 * 128 + 2 * 128)),
    "bottleneck_widen": ExpectedLayer([None, 8, 8, 64], 16 * 16 + 9 * 16 * 16 + 16 * 64 + 2 * (16 + 16 + 64)
                                      + (16 * 64 + 2 * 64)),
    "resnet18": ExpectedLayer([None, 1000], 11_689_512),
    "resnet34": ExpectedLayer([None, 1000], 21_797_672),
    "resnet50": ExpectedLayer([None, 1000], 25_557_032),
    "resnet101": ExpectedLayer([None, 1000], 44_549_160),
    "resnet152": ExpectedLayer([None, 1000], 60_192_808),
    "resnet18_small": ExpectedLayer([None, 10], None),
}
BLOCK_SHAPES = {key: model.output_shape for key, model in EXPECTED_MODELS.items() if not key.startswith("resnet")}
BLOCK_PARAMS = {key: EXPECTED_MODELS[key].trainable_params for key in BLOCK_SHAPES}
PARAMS = {depth: EXPECTED_MODELS[f"resnet{depth}"].trainable_params for depth in (18, 34, 50, 101, 152)}
PAPER_MULTIPLY_ADDS = {18: 1.8e9, 34: 3.6e9, 50: 3.8e9, 101: 7.6e9, 152: 11.3e9}
MULTIPLY_ADDS_TOLERANCE = 0.03


def block_input(rng: np.random.Generator) -> dict:
    # Negative values too, so that ReLU(x) differs from x.
    return {"block_input": rng.normal(size=(4, 8, 8, 16)).astype("float32")}


KERNEL_SHAPE = list_of(SIZE, "a kernel shape (a list of sizes)")


def multiply_adds(summary: dict, key: str) -> int:
    """Multiply-adds of convolution and dense layers, from the observed kernel and output shapes."""
    total = 0
    for index, layer in enumerate(model_layers(summary, key)):
        where = f"{key}.layers[{index}]"
        if layer.get("kernel_shape") is None:  # a layer without a kernel: no multiply-adds counted
            continue
        kernel, out = entry(layer, "kernel_shape", KERNEL_SHAPE, where), entry(layer, "output_shape", SHAPE, where)
        if not kernel or not out or isinstance(out[0], list):
            continue
        if len(kernel) == 4 and len(out) == 4:
            if out[1] is None or out[2] is None:
                raise NotObserved(f"Layer '{layer['name']}' has output shape {fmt_shape(out)}, so the grader "
                                  "cannot count its multiply-adds. Likely cause: build_resnet(depth) must build "
                                  "for its default input_shape, (224, 224, 3).")
            total += out[1] * out[2] * math.prod(kernel)
        elif len(kernel) == 2:
            total += math.prod(kernel)
    return total


def block_shapes(kind: str):
    def check(evidence: Evidence) -> Verdict:
        right, lines = 0, []
        keys = [k for k in BLOCK_SHAPES if k.startswith(kind)]
        for key in keys:
            got = entry(observed(evidence, "build", key, expect=OBJECT), "output_shapes", SHAPES, key)[0]
            if got == BLOCK_SHAPES[key]:
                right += 1
            else:
                lines.append(f"{key.replace('_', ' ')} block: output got {fmt_shape(got)}, expected "
                             f"{fmt_shape(BLOCK_SHAPES[key])}.")
        if kind == "bottleneck" and lines:
            lines.append("Likely cause: a bottleneck block outputs 4 * filters channels; stride 2 halves height and width.")
        return Verdict(right / len(keys), "\n".join(lines) or f"All {len(keys)} {kind} block shapes as expected.")

    return check


def block_params(evidence: Evidence) -> Verdict:
    right, lines = 0, []
    for key, expected in BLOCK_PARAMS.items():
        got = entry(observed(evidence, "build", key, expect=OBJECT), "trainable_params", INTEGER, key)
        if got == expected:
            right += 1
            continue
        cause = ("a projection shortcut (1x1 conv + BN) belongs only where the shape changes"
                 if "identity" in key else "where the shape changes, the shortcut is a 1x1 conv (stride s, no bias) + BN")
        lines.append(f"{key.replace('_', ' ')} block: trainable parameters got {got:,}, expected {expected:,}. "
                     f"Likely cause: convolutions must have use_bias=False, each followed by BatchNormalization; {cause}.")
    return Verdict(right / len(BLOCK_PARAMS), "\n".join(lines) or "Block parameter counts as expected.")


def zeroed_block(key: str, name: str):
    def check(evidence: Evidence) -> Verdict:
        observed(evidence, "build", key)
        x = evidence.secrets["block_input"]
        got = read_array(evidence.phases["build"].out_dir, f"{key}.npy", dtype_kind="f", shape=x.shape)
        expected = np.maximum(x, 0)
        if np.allclose(got, expected, atol=1e-5):
            return Verdict(1.0, f"With every convolution weight zeroed, the {name} returns ReLU(x) (atol=1e-5): "
                                "the identity shortcut is there.")
        cause = ("it returned all zeros: the shortcut (x added before the last ReLU) is missing."
                 if np.allclose(got, 0, atol=1e-5) else "the block must add its input x to F(x) before the final ReLU.")
        return Verdict(0.0, f"With every convolution weight zeroed, the {name} should return ReLU(x); "
                            f"largest difference {np.abs(got - expected).max():.3g}. Likely cause: {cause}")

    return check


def _stopped_at_every_depth(missing: list[NotObserved], depths: int) -> None:
    """One error that stopped every depth (the starter's NotImplementedError) is said once, not per depth."""
    if len(missing) == depths and len({str(error) for error in missing}) == 1:
        raise missing[0]


def resnet_params(evidence: Evidence) -> Verdict:
    right, lines, stopped = 0, [], []
    for depth, expected in PARAMS.items():
        key = f"resnet{depth}"
        try:
            got = entry(observed(evidence, "build", key, expect=OBJECT), "trainable_params", INTEGER, key)
        except Malformed:  # costs the whole check, not just this depth
            raise
        except NotObserved as missing:
            lines.append(f"ResNet-{depth}: {missing}")
            stopped.append(missing)
            continue
        if got == expected:
            right += 1
        else:
            lines.append(f"ResNet-{depth}: trainable parameters got {got:,}, expected {expected:,}.")
    _stopped_at_every_depth(stopped, len(PARAMS))
    if lines:
        lines.append("Likely cause: the stage table (blocks per stage), bias in convolutions, or projections.")
    return Verdict(right / len(PARAMS), "\n".join(lines) or "All five depths have the paper's parameter counts.")


def resnet_multiply_adds(evidence: Evidence) -> Verdict:
    right, lines, stopped = 0, [], []
    for depth, paper in PAPER_MULTIPLY_ADDS.items():
        key = f"resnet{depth}"
        try:
            got = multiply_adds(observed(evidence, "build", key, expect=OBJECT), key)
        except Malformed:
            raise
        except NotObserved as missing:
            lines.append(f"ResNet-{depth}: {missing}")
            stopped.append(missing)
            continue
        if abs(got - paper) <= MULTIPLY_ADDS_TOLERANCE * paper:
            right += 1
        else:
            if got < paper:
                cause = " Likely cause: missing projection shortcuts or blocks (compare the stage table)."
            elif depth >= 50:
                cause = " Likely cause: the stride-2 of a down-sampling bottleneck belongs on its first 1x1 conv."
            else:
                cause = " Likely cause: compare your stages and strides with the paper's table."
            lines.append(f"ResNet-{depth}: {got / 1e9:.2f}e9 multiply-adds at 224x224, expected {paper / 1e9:.1f}e9 "
                         f"within {MULTIPLY_ADDS_TOLERANCE:.0%}.{cause}")
    _stopped_at_every_depth(stopped, len(PAPER_MULTIPLY_ADDS))
    return Verdict(right / len(PAPER_MULTIPLY_ADDS), "\n".join(lines) or "Multiply-adds within 3% of the paper.")


# (observation, the probe's call, depth, input shape, classes): every depth at its defaults, then
# ResNet-18 with other arguments.
SHAPE_CASES = [(f"resnet{depth}", f"build_resnet({depth})", depth, (224, 224, 3), 1000) for depth in PARAMS] + [
    ("resnet18_small", "build_resnet(18, input_shape=(64, 64, 3), num_classes=10)", 18, (64, 64, 3), 10)]


def fmt_shapes(shapes: list) -> str:
    """A model's input or output shapes; a single one without the list around it."""
    return fmt_shape(shapes[0] if len(shapes) == 1 else shapes)


def shape_cause(depth: int, got_in: list, got_out: list, expected_in: list, classes: int) -> str:
    """The likely cause of a wrong input -> output shape, for the student."""
    path = "the bottleneck path" if depth >= 50 else "the basic-block path"
    if got_in != expected_in:
        return "build_resnet must make its keras.Input from its input_shape argument."
    if len(got_out) != 1:
        return "build_resnet must return a model with one output, the class probabilities."
    if len(got_out[0]) > 2:
        return f"no Flatten/GlobalAveragePooling2D before the classifier at depth {depth}: {path}."
    if len(got_out[0]) == 2 and got_out[0][-1] != classes:
        return "the classifier must be Dense(num_classes) with build_resnet's num_classes argument."
    return "the output must be (None, num_classes): one row of class probabilities per image."


def resnet_shapes(evidence: Evidence) -> Verdict:
    problems, missing = [], []
    for key, call, depth, input_shape, classes in SHAPE_CASES:
        expected_in, expected_out = [[None, *input_shape]], [[None, classes]]
        try:
            summary = observed(evidence, "build", key, expect=OBJECT)
        except Malformed:
            raise
        except NotObserved as error:
            missing.append((call, error))
            continue
        got_in, got_out = entry(summary, "input_shapes", SHAPES, key), entry(summary, "output_shapes", SHAPES, key)
        if got_in != expected_in or got_out != expected_out:
            problems.append(f"{call}: got {fmt_shapes(got_in)} -> {fmt_shapes(got_out)}, expected "
                            f"{fmt_shapes(expected_in)} -> {fmt_shapes(expected_out)}. Likely cause: "
                            + shape_cause(depth, got_in, got_out, expected_in, classes))
    if len(missing) == len(SHAPE_CASES):
        raise missing[0][1]  # no model at all: the error says why, once
    problems += [f"{call}: {error}" for call, error in missing]
    if problems:
        return Verdict(0.0, "\n".join(problems))
    depths = ", ".join(map(str, PARAMS))
    return Verdict(1.0, f"build_resnet honours input_shape and num_classes at every depth ({depths}).")


def _remember_block_input(context) -> dict:
    arrays = block_input(np.random.default_rng(11))
    context.secrets.update(arrays)
    return {**arrays, "args": {"seed": 0}}


ASSIGNMENT = Assignment(
    name="resnet",
    title="Residual blocks and ResNet-18..152",
    functions=("basic_block", "bottleneck_block", "build_resnet"),
    probe=Path(__file__).with_name("probe.py"),
    phases=(Phase("build", seconds=180, inputs=_remember_block_input),),
    expected_layers=EXPECTED_MODELS,
    checks=(
        Check("basic_block output shapes", 2, block_shapes("basic"), needs=("build",)),
        Check("bottleneck_block output shapes", 2, block_shapes("bottleneck"), needs=("build",)),
        Check("block parameters: no bias, BN, projection only where the shape changes", 3, block_params, needs=("build",)),
        Check("basic_block: identity shortcut (zeroed convs give ReLU(x))", 3, zeroed_block("basic_zeroed", "basic block"), needs=("build",)),
        Check("bottleneck_block: identity shortcut (zeroed convs give ReLU(x))", 3, zeroed_block("bottleneck_zeroed", "bottleneck block"), needs=("build",)),
        Check("ResNet-18..152 trainable parameters", 5, resnet_params, needs=("build",)),
        Check("ResNet-18..152 multiply-adds within 3% of the paper", 3, resnet_multiply_adds, needs=("build",)),
        Check("build_resnet input_shape and num_classes", 1, resnet_shapes, needs=("build",)),
    ),
)
