"""Checks on a Keras model that the probe described: named layers, shapes, parameter counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def model_shapes(inputs: list, outputs: list | Mapping[str, Sequence[list]], step: str = "build_model",
                 key: str = "model", phase: str = "build", cause: str = ""):
    """The model's input and output shapes, e.g. [[None, 28, 28, 1]] and [[None, 10]].

    `outputs` may instead name each output form the assignment accepts with its shapes, e.g.
    {"the 19 probabilities of the sums": ([[None, 19]],), "one number, the sum": ([[None]], [[None, 1]])}:
    the message then says which form the model has.
    """
    forms = outputs if isinstance(outputs, Mapping) else {"": (outputs,)}
    expected = " or ".join(" or ".join(fmt_shape(shape) for shape in shapes) + (f" ({words})" if words else "")
                           for words, shapes in forms.items())

    def check(evidence: Evidence) -> Verdict:
        summary = observed(evidence, phase, key, step, expect=OBJECT)
        got_in, got_out = entry(summary, "input_shapes", SHAPES, key), entry(summary, "output_shapes", SHAPES, key)
        form = next((words for words, shapes in forms.items() if got_out in shapes), None)
        problems = []
        if got_in != inputs:
            problems.append(f"input: got {fmt_shape(got_in)}, expected {fmt_shape(inputs)}")
        if form is None:
            problems.append(f"output: got {fmt_shape(got_out)}, expected {expected}")
        if problems:
            return Verdict(0.0, "Model shapes are wrong: " + "; ".join(problems) + "."
                           + (f" Likely cause: {cause}" if cause else ""))
        return Verdict(1.0, f"Input {fmt_shape(inputs)} and output {fmt_shape(got_out)} as expected"
                       + (f": {form}." if form else "."))

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


BOUNDED_ACTIVATIONS = {"sigmoid": 1, "hard_sigmoid": 1, "softmax": 1, "sparsemax": 1, "tanh": 1, "hard_tanh": 1,
                       "softsign": 1, "relu6": 6, "log_softmax": 0, "log_sigmoid": 0}
"""Activations and the largest value each can give: an output ending in one never reaches a larger number."""


def _probe_outputs(evidence: Evidence, phase: str) -> np.ndarray:
    observed(evidence, phase, "forward", step="forward")
    return read_array(evidence.phases[phase].out_dir, "probe_outputs.npy", dtype_kind="f",
                      what="the grader's record of your model's outputs on its test images")


def _probabilities(outputs: np.ndarray, rows: int, classes: int, cause: str) -> Verdict:
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


def outputs_are_probabilities(rows: int, classes: int, cause: str, phase: str = "build"):
    """The model's outputs on the grader's probe inputs are rows of probabilities."""

    def check(evidence: Evidence) -> Verdict:
        return _probabilities(_probe_outputs(evidence, phase), rows, classes, cause)

    return check


def _output_bound(summary: dict, key: str) -> tuple[str, str, float] | None:
    """(layer name, activation, the largest value it gives) when the layer that makes the model's output
    ends in a bounded activation, else None. That layer is the last one described with the model's output
    shape; a configuration that is not plain data counts as unbounded (the probe keeps only plain values)."""
    outputs = entry(summary, "output_shapes", SHAPES, key)
    for layer in reversed(model_layers(summary, key)):
        if [layer.get("output_shape")] == outputs:
            config = layer.get("config")
            activation = config.get("activation") if isinstance(config, dict) else None
            if isinstance(activation, str) and activation in BOUNDED_ACTIVATIONS:
                return layer["name"], activation, BOUNDED_ACTIVATIONS[activation]
            return None
    return None


def _numbers(outputs: np.ndarray, summary: dict, key: str, largest: int, item: str, what: str,
             cause: str) -> Verdict:
    if not np.all(np.isfinite(outputs)):
        return Verdict(0.0, f"Your model's outputs on {len(outputs)} {item}s contain NaN or infinity; expected "
                            "finite numbers. Likely cause: a division by zero or a log of zero in the model.")
    bound = _output_bound(summary, key)
    if bound is not None and bound[2] < largest:
        name, activation, most = bound
        return Verdict(0.0, f"Layer '{name}' ends in {activation}, whose values stay at or below {most:g}; "
                            f"expected an output that can reach {largest}, as {what} does. Likely cause: {cause}")
    return Verdict(1.0, f"One finite number per {item} on {len(outputs)} {item}s, from an output that can reach "
                        f"0..{largest}.")


def outputs_are_probabilities_or_numbers(rows: int, classes: int, item: str, what: str, probabilities_cause: str,
                                         numbers_cause: str, phase: str = "build", key: str = "model",
                                         step: str = "build_model"):
    """Either output form a class can be read from, on the grader's `rows` probe inputs (each an `item`):
    rows of `classes` probabilities (as outputs_are_probabilities), or one number per item, `what` (e.g.
    "the sum"): finite, from an output layer whose activation can reach classes - 1. An untrained
    model's values say nothing about their range; its last activation does. The message says which
    form it read."""
    forms = (f"({rows}, {classes}): {classes} probabilities per {item}, or ({rows},) or ({rows}, 1): "
             f"one number per {item}, {what}")

    def check(evidence: Evidence) -> Verdict:
        outputs = _probe_outputs(evidence, phase)
        if outputs.shape == (rows, classes):
            verdict = _probabilities(outputs, rows, classes, probabilities_cause)
            return Verdict(verdict.fraction, f"Read as {classes} probabilities per {item}. {verdict.message}")
        if outputs.shape in ((rows,), (rows, 1)):
            summary = observed(evidence, phase, key, step, expect=OBJECT)
            verdict = _numbers(outputs, summary, key, classes - 1, item, what, numbers_cause)
            return Verdict(verdict.fraction, f"Read as one number per {item}, {what}. {verdict.message}")
        return Verdict(0.0, f"On {rows} {item}s the model's output has shape {outputs.shape}; expected {forms}.")

    return check
