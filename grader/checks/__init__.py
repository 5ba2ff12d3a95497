"""Reusable checks: each builder returns a function from Evidence to a Verdict."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from grader.assignment import TAMPERED, Evidence, common_keys_problem, describe_json

MAX_SIZE = 2**63
"""Sizes of tensors fit in an int64, as in NumPy and every Keras backend; larger is malformed."""
MAX_NESTING = 8
"""How deeply a layer's outputs may nest (a layer returning lists of tensors)."""


class NotObserved(Exception):
    """What a check needs was never observed; the message tells the student why."""


class Malformed(NotObserved):
    """An observation is not of the kind the check expects: the student's code, which runs in the
    probe's process, interfered with it. The whole check scores zero, even where it gives partial
    credit for what was observed."""


Wrong = tuple[str, str] | None
"""(where, what): the index path inside the value ("" for the value itself, "[2]", "[0][1]") and what
was found there in words ("a string ('many')"); None when the value is as expected."""


@dataclass(frozen=True)
class Kind:
    """The JSON a check expects of an observation, so that feedback can say got what, expected what."""

    expected: str
    """In words, after "expected": "an integer", "a list of module names (strings)"."""
    wrong: Callable[[Any], Wrong]

    @classmethod
    def of(cls, expected: str, fits: Callable[[Any], bool]) -> Kind:
        """The kind of the values for which `fits` is true."""
        return cls(expected, lambda value: None if fits(value) else ("", describe_json(value)))

    def problem(self, value: Any) -> str | None:
        """"got a string ('many'), expected an integer", or None when `value` is of this kind."""
        wrong = self.wrong(value)
        if wrong is None:
            return None
        where, what = wrong
        return f"got {what}{f' at {where}' if where else ''}, expected {self.expected}"


def _items_wrong(value: list, item: Callable[[Any], Wrong]) -> Wrong:
    for index, inner in enumerate(value):
        if (wrong := item(inner)) is not None:
            return f"[{index}]{wrong[0]}", wrong[1]
    return None


def list_of(item: Kind, expected: str, min_items: int = 0) -> Kind:
    """A list of at least `min_items` values of kind `item`."""

    def wrong(value: Any) -> Wrong:
        if not isinstance(value, list) or len(value) < min_items:
            return "", describe_json(value)
        return _items_wrong(value, item.wrong)

    return Kind(expected, wrong)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


OBJECT = Kind.of("an object", lambda value: isinstance(value, dict))
STRING = Kind.of("a string", lambda value: isinstance(value, str))
BOOLEAN = Kind.of("true or false", lambda value: isinstance(value, bool))
INTEGER = Kind.of("an integer", _is_integer)
"""An int; true and false are refused, though Python's bool is an int (True == 1)."""
SIZE = Kind.of("a size (a non-negative integer)", lambda value: _is_integer(value) and 0 <= value < MAX_SIZE)
DIM = Kind.of("a size (a non-negative integer) or null", lambda value: value is None or SIZE.wrong(value) is None)
TENSOR_SHAPE = list_of(DIM, "a shape (a list of sizes, null for the batch)")
SHAPES = list_of(TENSOR_SHAPE, "a list of shapes, e.g. [[null, 28, 28, 1]]", min_items=1)
"""A model's input_shapes or output_shapes: one shape per input or output."""


def _shape_wrong(value: Any, depth: int = 0) -> Wrong:
    """SHAPE's test: null, a list of sizes, or a list of such lists (all lists, or no list at all)."""
    if value is None:
        return None
    if not isinstance(value, list) or not any(isinstance(v, list) for v in value):
        return TENSOR_SHAPE.wrong(value)
    if depth >= MAX_NESTING:
        return "", f"shapes nested more than {MAX_NESTING} deep"
    return _items_wrong(value, lambda inner: _shape_wrong(inner, depth + 1) if isinstance(inner, list)
                        else ("", describe_json(inner)))


SHAPE = Kind("a shape (a list of sizes, null for the batch), a list of shapes, or null", _shape_wrong)
"""A layer's output_shape as the probe describes it: null when unknown, nested for several outputs."""


RECORDS = {
    "model": "your model",
    "forward": "your model's outputs on the grader's test images",
    "predicted": "your model's predictions",
    "c3_reacts": "which S2 maps each C3 map reacts to",
    "frameworks_loaded": "the frameworks loaded with your file",
    "results": "your functions' answers",
    "basic_identity": "your basic_block with an identity shortcut",
    "basic_downsample": "your basic_block that downsamples",
    "basic_zeroed": "your basic_block with its convolutions zeroed",
    "bottleneck_identity": "your bottleneck_block with an identity shortcut",
    "bottleneck_downsample": "your bottleneck_block that downsamples",
    "bottleneck_widen": "your bottleneck_block that widens the channels",
    "bottleneck_zeroed": "your bottleneck_block with its convolutions zeroed",
    "resnet18_small": "the model build_resnet(18, input_shape=(64, 64, 3), num_classes=10) returned",
    **{f"resnet{depth}": f"the model build_resnet({depth}) returned" for depth in (18, 34, 50, 101, 152)},
}
"""What each observation a probe records is, in the student's words: no message names the probe's
own keys. An observation not listed here is "one of the grader's records of your code"."""
FIELDS = {
    "layers": "layers", "name": "name", "class": "type", "config": "settings",
    "trainable_params": "trainable parameters", "non_trainable_params": "non-trainable parameters",
    "input_shapes": "input shapes", "output_shapes": "output shapes", "input_shape": "input shape",
    "output_shape": "output shape", "kernel_shape": "kernel shape",
    "error": "error", "type": "type", "message": "message", "scalar": "number", "array": "array",
    "error.type": "error type", "error.message": "error message",
}
"""The parts of an observation, in words, as they follow its name: "your model (the 4th layer, output shape)"."""
ITEMS = {"layers": "the {ordinal} layer", "results": "case {key}"}
"""How one item of a list or object observation reads, by the observation it is in; others are "item N"."""
_PART = re.compile(r"\.?([A-Za-z_]\w*)|\[(\d+)\]|\['([^'\\]*)'\]")


def ordinal(number: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def record_words(what: str) -> str:
    """The grader's record `what` ("model.layers[3].trainable_params", "results['example1_xcorr'].error")
    in the student's words: "its record of your model (the 4th layer, trainable parameters)"."""
    parts, position = [], 0
    while position < len(what) and (part := _PART.match(what, position)):
        parts.append(part.groups())
        position = part.end()
    if not parts or position < len(what) or parts[0][0] is None:
        return "one of its records of your code"
    top, details, container = parts[0][0], [], parts[0][0]
    for name, index, key in parts[1:]:
        if name is not None:
            if f"{container}.{name}" in FIELDS:
                details.pop()  # "error, type" reads as "error type"
            details.append(FIELDS.get(f"{container}.{name}") or FIELDS.get(name, "one of its entries"))
            container = name
            continue
        item = ITEMS.get(container, "item {number}")
        number = int(index) + 1 if index is not None else None
        if details and details[-1] == FIELDS.get(container):
            details.pop()  # "layers, the 4th layer" reads as "the 4th layer"
        details.append(item.format(ordinal=ordinal(number) if number else "", number=number, key=key or number))
        container = None
    if top not in RECORDS:
        return "one of its records of your code"
    return f"its record of {RECORDS[top]}" + (f" ({', '.join(details)})" if details else "")


def malformed(what: str, problem: str) -> Malformed:
    """The error for the observation `what` ("model.layers[2].name"), with `problem` in got/expected
    form; the message says in words which record it is (record_words), never the probe's key."""
    return Malformed(f"The grader cannot use {record_words(what)}: {problem}. {TAMPERED}")


def require(value: Any, kind: Kind, what: str) -> Any:
    """`value` when it is of `kind`, else Malformed saying that `what` is malformed and why."""
    problem = kind.problem(value)
    if problem:
        raise malformed(what, problem)
    return value


def entry(container: dict, key: str, kind: Kind, what: str) -> Any:
    """`container[key]` when it is of `kind`; Malformed when it is missing or of another kind.

    `what` names the container in the message, e.g. "model" gives "model.trainable_params".
    """
    if key not in container:
        raise malformed(what, f"it has no {FIELDS.get(key, 'entry the grader needs')}")
    return require(container[key], kind, f"{what}.{key}")


def observed(evidence: Evidence, phase: str, key: str, step: str | None = None, expect: Kind | None = None) -> Any:
    """The observation `key` of `phase`, or NotObserved naming the student's error in `step`.

    An error stops a check in one line that names the student's function; grading shows the
    error itself once, in the report's notes. With `expect`, an observation of another kind is
    Malformed, with got/expected.
    """
    outcome = evidence.phases.get(phase)
    if outcome is None or not outcome.ran:
        raise NotObserved(f"The {phase} phase did not run.")
    if outcome.failure:
        raise NotObserved(outcome.failure)
    # grading.py fails a phase whose common keys are malformed; checked here as well, so that a
    # check never formats a malformed error, however the outcome was made.
    problem = common_keys_problem(outcome.observations)
    if problem:
        raise Malformed(problem)
    error = outcome.raised(step or key) or outcome.raised("import")
    if error is None and key not in outcome.observations:
        # A later step found nothing to work on: the first error of the phase stopped it.
        error = next(iter(outcome.all_raised()), None)
    if error:
        raise NotObserved(error.not_checked(evidence.functions))
    if key not in outcome.observations:
        called = [step] if step in evidence.functions else evidence.functions
        who = " or ".join(f"{name}()" for name in called) or "your code"
        raise NotObserved(f"The grader got no result for this check from {who}, though your code raised no "
                          f"error. {TAMPERED}")
    value = outcome.observations[key]
    return value if expect is None else require(value, expect, key)


def fmt_shape(shape) -> str:
    """[None, 28, 28, 4] -> "(None, 28, 28, 4)", as Keras prints shapes."""
    if shape is None:
        return "unknown"
    if shape and isinstance(shape[0], list):
        return "[" + ", ".join(fmt_shape(s) for s in shape) + "]"
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"
