"""Checks on a Keras model that the probe described: named layers, shapes, parameter counts."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.assignment import Evidence, Verdict
from grader.checks import (INTEGER, OBJECT, SHAPE, SHAPES, STRING, Kind, Malformed, NotObserved, entry, fmt_shape,
                           list_of, observed)
from grader.sandbox.observations import read_array

LAYERS = list_of(OBJECT, "a list of layers, each an object")


def model_layers(summary: dict, key: str = "model") -> list[dict]:
    """The layers of the model description `summary` (the observation `key`), each an object with a
    string name; Malformed otherwise."""
    layers = entry(summary, "layers", LAYERS, key)
    for index, layer in enumerate(layers):
        entry(layer, "name", STRING, f"{key}.layers[{index}]")
    return layers


def layer_entry(summary: dict, name: str, field: str, kind: Kind, key: str = "model") -> Any:
    """`field` of the layer named `name`: NotObserved when the model has no such layer, Malformed
    when the field is missing or not of `kind`."""
    layers = model_layers(summary, key)
    for index, layer in enumerate(layers):
        if layer["name"] == name:
            return entry(layer, field, kind, f"{key}.layers[{index}]")
    names = ", ".join(layer["name"] for layer in layers)
    raise NotObserved(f"Your model has no layer named '{name}' (it has: {names}). "
                      f"Pass name='{name}' when you create that layer: the grader finds layers by name.")


def model_shapes(inputs: list, outputs: list, step: str = "build_model", key: str = "model", phase: str = "build",
                 cause: str = ""):
    """The model's input and output shapes, e.g. [[None, 28, 28, 1]] and [[None, 10]]."""

    def check(evidence: Evidence) -> Verdict:
        summary = observed(evidence, phase, key, step, expect=OBJECT)
        got_in, got_out = entry(summary, "input_shapes", SHAPES, key), entry(summary, "output_shapes", SHAPES, key)
        problems = []
        if got_in != inputs:
            problems.append(f"input: got {fmt_shape(got_in)}, expected {fmt_shape(inputs)}")
        if got_out != outputs:
            problems.append(f"output: got {fmt_shape(got_out)}, expected {fmt_shape(outputs)}")
        if problems:
            return Verdict(0.0, "Model shapes are wrong: " + "; ".join(problems) + "."
                           + (f" Likely cause: {cause}" if cause else ""))
        return Verdict(1.0, f"Input {fmt_shape(inputs)} and output {fmt_shape(outputs)} as expected.")

    return check


def layer_shapes(expected: dict[str, list], causes: dict[str, str] | None = None, step: str = "build_model",
                 key: str = "model", phase: str = "build"):
    """Output shape of each named layer; partial credit per correct layer."""
    causes = causes or {}

    def check(evidence: Evidence) -> Verdict:
        summary = observed(evidence, phase, key, step, expect=OBJECT)
        right, lines = 0, []
        for name, shape in expected.items():
            try:
                got = layer_entry(summary, name, "output_shape", SHAPE, key)
            except Malformed:  # costs the whole check, not just this layer
                raise
            except NotObserved as missing:
                lines.append(str(missing))
                continue
            if got == shape:
                right += 1
            else:
                cause = f" Likely cause: {causes[name]}" if name in causes else ""
                lines.append(f"Layer '{name}': output shape got {fmt_shape(got)}, expected {fmt_shape(shape)}.{cause}")
        if not lines:
            return Verdict(1.0, f"All {len(expected)} layers have the expected output shapes.")
        return Verdict(right / len(expected), "\n".join(lines))

    return check


def layer_params(expected: dict[str, int], causes: dict[str, str] | None = None, trainable: bool = True,
                 step: str = "build_model", key: str = "model", phase: str = "build"):
    """Trainable (or non-trainable) parameters of each named layer; partial credit per layer."""
    causes = causes or {}
    kind = "trainable" if trainable else "non-trainable"
    field = "trainable_params" if trainable else "non_trainable_params"

    def check(evidence: Evidence) -> Verdict:
        summary = observed(evidence, phase, key, step, expect=OBJECT)
        right, lines = 0, []
        for name, count in expected.items():
            try:
                got = layer_entry(summary, name, field, INTEGER, key)
            except Malformed:
                raise
            except NotObserved as missing:
                lines.append(str(missing))
                continue
            if got == count:
                right += 1
            else:
                cause = f" Likely cause: {causes[name]}" if name in causes else ""
                lines.append(f"Layer '{name}': {kind} parameters got {got:,}, expected {count:,}.{cause}")
        if not lines:
            return Verdict(1.0, f"All {len(expected)} layers have the expected number of {kind} parameters.")
        return Verdict(right / len(expected), "\n".join(lines))

    return check


def total_params(trainable: int, non_trainable: int | None = None, cause: str = "", step: str = "build_model",
                 key: str = "model", phase: str = "build"):
    """The model's total trainable (and optionally non-trainable) parameters."""

    def check(evidence: Evidence) -> Verdict:
        summary = observed(evidence, phase, key, step, expect=OBJECT)
        got_t = entry(summary, "trainable_params", INTEGER, key)
        got_n = None if non_trainable is None else entry(summary, "non_trainable_params", INTEGER, key)
        problems = []
        if got_t != trainable:
            problems.append(f"trainable parameters: got {got_t:,}, expected {trainable:,}")
        if non_trainable is not None and got_n != non_trainable:
            problems.append(f"non-trainable parameters: got {got_n:,}, expected {non_trainable:,}")
        if problems:
            return Verdict(0.0, "; ".join(problems).capitalize() + "." + (f" Likely cause: {cause}" if cause else ""))
        return Verdict(1.0, f"{trainable:,} trainable parameters, as expected.")

    return check


def outputs_are_probabilities(rows: int, classes: int, cause: str, phase: str = "build"):
    """The model's outputs on the grader's probe inputs are rows of probabilities."""

    def check(evidence: Evidence) -> Verdict:
        observed(evidence, phase, "forward", step="forward")
        outputs = read_array(evidence.phases[phase].out_dir, "probe_outputs.npy", dtype_kind="f")
        if outputs.shape != (rows, classes):
            return Verdict(0.0, f"On {rows} inputs the model's output has shape {outputs.shape}; expected "
                                f"({rows}, {classes}): one probability per class. Likely cause: {cause}")
        sums = outputs.astype("float64").sum(axis=1)
        if np.all(outputs >= 0) and np.allclose(sums, 1, atol=1e-3):
            return Verdict(1.0, f"Each of the {rows} output rows is a probability distribution over {classes} "
                                "classes (non-negative, sums to 1, atol=1e-3).")
        return Verdict(0.0, f"Output rows should be probabilities: got row sums {[round(float(v), 3) for v in sums[:3]]}..., "
                            f"smallest value {outputs.min():.3g}; expected non-negative rows that sum to 1. "
                            f"Likely cause: {cause}")

    return check
