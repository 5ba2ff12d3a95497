"""What a feedback report draws, as plain numbers: gathered on the trusted side, stored with the grading."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

ARRAY_DTYPES = {"float16": np.float16, "float32": np.float32, "int64": np.int64, "uint8": np.uint8}
"""What a stored array may be: floats are kept as float16 (pictures need no more), counts as int64,
digits as uint8."""
MAX_ARRAY_VALUES = 1_000_000
"""No stored array holds more values than this, however the stored JSON was made."""


def encode_array(array: np.ndarray) -> dict:
    """A JSON object for `array`: {"dtype", "shape", "data" (base64 of the little-endian bytes)}.

    Floats are stored as float16 and integers as int64 (uint8 stays uint8): compact enough that a
    report's numbers stay well under a megabyte, exact enough for any picture.
    """
    array = np.asarray(array)
    if array.dtype == np.uint8:
        stored = array
    elif array.dtype.kind in "iub":
        stored = array.astype("<i8")
    elif array.dtype.kind == "f":
        stored = array.astype("<f2")
    else:
        raise ValueError(f"Expected an array of numbers. Received dtype={array.dtype}.")
    name = {"u1": "uint8", "i8": "int64", "f2": "float16"}[stored.dtype.str[1:]]
    return {"dtype": name, "shape": list(stored.shape),
            "data": base64.b64encode(np.ascontiguousarray(stored).tobytes()).decode("ascii")}


def decode_array(value: dict) -> np.ndarray:
    """The array `encode_array` stored; ValueError for anything else (an unknown dtype, a shape that
    does not match the bytes, more than MAX_ARRAY_VALUES values)."""
    dtype = ARRAY_DTYPES.get(value.get("dtype")) if isinstance(value, dict) else None
    shape = value.get("shape") if dtype is not None else None
    if dtype is None or not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ValueError(f"Expected an encoded array. Received {str(value)[:80]}.")
    if int(np.prod(shape, dtype=np.int64)) > MAX_ARRAY_VALUES:
        raise ValueError(f"Expected at most {MAX_ARRAY_VALUES:,} values. Received shape={shape}.")
    data = base64.b64decode(value.get("data", ""), validate=True)
    return np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).astype(dtype)


@dataclass(frozen=True)
class LayerRow:
    """One row of the layer table: what the student's layer is, beside what the assignment expects."""

    name: str
    kind: str
    """The layer's class name: "Conv2D"."""
    output_shape: list | None
    """As the probe described it, [None, 28, 28, 6]; None when the layer has no single output."""
    trainable_params: int | None
    expected_output_shape: list | None = None
    """What the assignment expects of a layer of this name; None where it expects nothing."""
    expected_params: int | None = None
    """The trainable parameters the assignment expects; None where it expects nothing."""

    @property
    def shape_wrong(self) -> bool:
        return self.expected_output_shape is not None and self.output_shape != self.expected_output_shape

    @property
    def params_wrong(self) -> bool:
        return self.expected_params is not None and self.trainable_params != self.expected_params


@dataclass(frozen=True)
class FeatureMaps:
    """One layer's activations for the report's digit and for the same digit shifted."""

    layer: str
    kind: str
    original: np.ndarray
    """(height, width, maps) for the digit as it is."""
    shifted: np.ndarray
    """The same, for the digit shifted by Figures.shift_pixels."""
    maps: int
    """How many maps the layer has; `original` holds the first few of them."""


@dataclass(frozen=True)
class LearningCurves:
    """Loss and accuracy per epoch, on the training data and on the held-out validation digits."""

    loss: tuple[float, ...]
    accuracy: tuple[float, ...] = ()
    val_loss: tuple[float, ...] = ()
    val_accuracy: tuple[float, ...] = ()
    train_size: int | None = None
    """Digits trained on; None where the student's own training chose (the adder's train_adder)."""
    validation_size: int | None = None
    """Digits held out for the validation curves; None where there was no validation split."""


@dataclass(frozen=True)
class RobustnessCurve:
    """Accuracy on transformed hidden digits, one value per strength of the transformation."""

    transform: str
    """shift (pixels), rotation (degrees) or noise (sigma of Gaussian noise on [0, 1] pixels)."""
    levels: tuple[float, ...]
    accuracy: tuple[float, ...]
    digits: int
    """Hidden digits transformed at each level."""


@dataclass(frozen=True)
class Difference:
    """A numeric answer that was wrong: what the student's function returned beside what was expected."""

    case: str
    """In the student's words: "worked example 2 (stride 2, padding 1)"."""
    got: np.ndarray
    """2-D, as shown (a single image and channel of the output)."""
    expected: np.ndarray


@dataclass(frozen=True)
class Figures:
    """Everything a feedback report draws for one grading. A figure that could not be made is
    absent, and `missing` says why in words for the student."""

    layers: tuple[LayerRow, ...] = ()
    kernel_layer: str | None = None
    kernels: np.ndarray | None = None
    """The first convolution's learned kernels, (height, width, input channels, maps)."""
    digit: np.ndarray | None = None
    """(2, 28, 28) uint8: the public digit the feature maps are of, and that digit shifted."""
    shift_pixels: tuple[int, int] = (0, 0)
    """(down, right): how `digit[1]` is `digit[0]` moved."""
    feature_maps: tuple[FeatureMaps, ...] = ()
    curves: LearningCurves | None = None
    confusion: np.ndarray | None = None
    """confusion[true, predicted]: counts over the hidden digits (or pairs); shown only once the
    course releases hidden results."""
    robustness: tuple[RobustnessCurve, ...] = ()
    """The student's model on transformed hidden digits; shown only once hidden results are released."""
    reference_robustness: tuple[RobustnessCurve, ...] = ()
    """The reference model's curves on the same transformed digits, for comparison."""
    differences: tuple[Difference, ...] = ()
    missing: dict[str, str] = field(default_factory=dict)
    """Figure name (a field of this class) -> why it is not there: "training raised an error"."""

    HIDDEN = ("confusion", "robustness", "reference_robustness")
    """Fields made from hidden digits: withheld from students until the course releases them."""

    def to_json(self) -> dict:
        """Plain JSON (arrays encoded by encode_array), what the gradebook stores."""
        return {f.name: _to_json(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, value: dict) -> Figures:
        """The Figures `to_json` wrote; ValueError (or TypeError, KeyError) when it is not that."""
        def curves(items, kind):
            return tuple(kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}) for item in items)

        return cls(
            layers=tuple(LayerRow(**row) for row in value.get("layers", [])),
            kernel_layer=value.get("kernel_layer"),
            kernels=_array_or_none(value.get("kernels")),
            digit=_array_or_none(value.get("digit")),
            shift_pixels=tuple(value.get("shift_pixels", (0, 0))),
            feature_maps=tuple(FeatureMaps(m["layer"], m["kind"], decode_array(m["original"]),
                                           decode_array(m["shifted"]), m["maps"])
                               for m in value.get("feature_maps", [])),
            curves=None if value.get("curves") is None else curves([value["curves"]], LearningCurves)[0],
            confusion=_array_or_none(value.get("confusion")),
            robustness=curves(value.get("robustness", []), RobustnessCurve),
            reference_robustness=curves(value.get("reference_robustness", []), RobustnessCurve),
            differences=tuple(Difference(d["case"], decode_array(d["got"]), decode_array(d["expected"]))
                              for d in value.get("differences", [])),
            missing={str(k): str(v) for k, v in value.get("missing", {}).items()},
        )

    def without_hidden(self, why: str) -> Figures:
        """These figures as a student sees them before hidden results are released: the figures of
        hidden digits dropped, with `why` as the reason."""
        dropped = {name: why for name in self.HIDDEN if _present(getattr(self, name))}
        return Figures(**{f.name: getattr(self, f.name) for f in fields(self)
                          if f.name not in self.HIDDEN and f.name != "missing"},
                       missing={**self.missing, **dropped})


def _present(value: Any) -> bool:
    return value is not None and (isinstance(value, np.ndarray) or len(value) > 0)


def _array_or_none(value: Any) -> np.ndarray | None:
    return None if value is None else decode_array(value)


def _to_json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return encode_array(value)
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value
