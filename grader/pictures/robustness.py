"""Robustness as in the LeNet-5 slides: hidden digits shifted, rotated and made noisy on the trusted side."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.checks.accuracy import predicted_classes, shown_accuracy
from grader.pictures.figures import RobustnessCurve

LEVELS = {
    "shift": (0, 1, 2, 3, 4),
    "rotation": (0, 5, 10, 15, 20, 25, 30),
    "noise": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
}
"""Each transformation's strengths: pixels, degrees, and the sigma of Gaussian noise on [0, 1] pixels."""
DIGITS = 500
"""Hidden digits transformed at every level: 16 sets of 500 keep the predict phase within seconds, and
a curve's points differ by the transformation only (the same digits at every level)."""
UNTOUCHED = ("untouched", 0)
"""The block of the digits as they are: every curve's level 0."""
DIRECTIONS = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)])
"""(down, right) of a shift by one pixel: up, down, left, right."""


def shift(images: np.ndarray, down: np.ndarray | int, right: np.ndarray | int) -> np.ndarray:
    """Each image (N, H, W) moved by whole pixels, `down` and `right` per image (negative: up, left),
    with zeros (background) coming in at the edges."""
    images = np.asarray(images)
    count, height, width = images.shape
    down, right = np.broadcast_to(down, (count,)), np.broadcast_to(right, (count,))
    rows = np.arange(height)[None, :] - down[:, None]
    cols = np.arange(width)[None, :] - right[:, None]
    return _gather(images, rows[:, :, None], cols[:, None, :])


def rotate(images: np.ndarray, degrees: np.ndarray | float) -> np.ndarray:
    """Each image (N, H, W) rotated counter-clockwise as seen on screen by its `degrees` about the
    image's centre, bilinear, zeros outside; uint8 in, uint8 out (rounded)."""
    images = np.asarray(images)
    count, height, width = images.shape
    theta = np.deg2rad(np.broadcast_to(np.asarray(degrees, dtype=np.float64), (count,)))[:, None, None]
    cy, cx = (height - 1) / 2, (width - 1) / 2
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    # Inverse map: each output pixel reads the source pixel the turn brings there (rows grow downwards).
    dy, dx = y - cy, x - cx
    source_y = cy + np.cos(theta) * dy + np.sin(theta) * dx
    source_x = cx - np.sin(theta) * dy + np.cos(theta) * dx
    top, left = np.floor(source_y).astype(np.int64), np.floor(source_x).astype(np.int64)
    fy, fx = source_y - top, source_x - left
    values = images.astype(np.float64)
    result = ((1 - fy) * (1 - fx) * _gather(values, top, left) + (1 - fy) * fx * _gather(values, top, left + 1)
              + fy * (1 - fx) * _gather(values, top + 1, left) + fy * fx * _gather(values, top + 1, left + 1))
    return _like(images, result)


def add_noise(images: np.ndarray, sigma: float, pattern: np.ndarray) -> np.ndarray:
    """uint8 digits plus `sigma` times the standard-normal `pattern` (same shape) on [0, 1] pixels,
    clipped to [0, 1] and stored as uint8 again."""
    noisy = np.asarray(images, dtype=np.float64) / 255 + sigma * pattern
    return _like(np.asarray(images), np.clip(noisy, 0, 1) * 255)


def _gather(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """images[n, rows, cols] with zeros where the index falls outside; rows and cols broadcast to (N, H, W)."""
    count, height, width = images.shape
    rows, cols = np.broadcast_arrays(rows, cols)
    rows, cols = np.broadcast_to(rows, (count, *rows.shape[1:])), np.broadcast_to(cols, (count, *cols.shape[1:]))
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    n = np.broadcast_to(np.arange(count)[:, None, None], rows.shape)
    return np.where(inside, images[n, np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)], 0).astype(images.dtype)


def _like(images: np.ndarray, values: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return values.astype(images.dtype)


@dataclass(frozen=True)
class RobustnessPlan:
    """What the trusted side keeps of a robustness set: the digits' labels and the order of the blocks.
    The images went to the predict phase; these labels never enter a sandbox."""

    labels: np.ndarray
    """(digits,): the true class of each transformed digit, the same in every block."""
    blocks: tuple[tuple[str, float], ...]
    """(transform, level) of each block of len(labels) images, in the order the images were sent."""

    @property
    def size(self) -> int:
        return len(self.labels) * len(self.blocks)


def make_set(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
             digits: int = DIGITS) -> tuple[np.ndarray, RobustnessPlan]:
    """(the images to predict, the plan to score them with): `digits` hidden digits drawn with `rng`
    (the instructor's secret), each given one shift direction, one rotation sign and one noise pattern,
    then transformed at every level of LEVELS. Level 0 is one block shared by the three curves."""
    chosen = rng.choice(len(labels), size=min(digits, len(labels)), replace=False)
    originals = np.asarray(images)[chosen]
    direction = DIRECTIONS[rng.integers(0, len(DIRECTIONS), len(chosen))]
    sign = rng.choice((-1.0, 1.0), len(chosen))
    pattern = rng.standard_normal(originals.shape)
    made = {"shift": lambda k: shift(originals, direction[:, 0] * k, direction[:, 1] * k),
            "rotation": lambda d: rotate(originals, sign * d),
            "noise": lambda s: add_noise(originals, s, pattern)}
    blocks, sets = [UNTOUCHED], [originals]
    for transform, levels in LEVELS.items():
        for level in levels[1:]:
            blocks.append((transform, level))
            sets.append(made[transform](level))
    return np.concatenate(sets), RobustnessPlan(np.asarray(labels)[chosen].astype(np.int64), tuple(blocks))


def curves(plan: RobustnessPlan, predictions: np.ndarray) -> tuple[RobustnessCurve, ...]:
    """One curve per transformation from the predictions on the plan's images (rows of scores, or one
    number per digit). Accuracies are rounded to half a point, as every hidden accuracy a student sees."""
    predictions = np.asarray(predictions)
    if len(predictions) != plan.size:
        raise ValueError(f"Expected {plan.size} predictions. Received {len(predictions)}.")
    classes = predictions.shape[1] if predictions.ndim == 2 and predictions.shape[1] > 1 else 10
    predicted = predicted_classes(predictions, classes).reshape(len(plan.blocks), len(plan.labels))
    correct = {block: int((row == plan.labels).sum()) for block, row in zip(plan.blocks, predicted)}
    digits = len(plan.labels)
    return tuple(RobustnessCurve(transform, tuple(float(level) for level in levels),
                                 tuple(shown_accuracy(correct[(transform, level) if level else UNTOUCHED], digits)
                                       for level in levels), digits)
                 for transform, levels in LEVELS.items())


def accuracy_at(curve_list: tuple[RobustnessCurve, ...], transform: str, level: float) -> float | None:
    """The accuracy of `transform` at `level` in these curves, or None where they have no such point."""
    for curve in curve_list:
        if curve.transform == transform and float(level) in curve.levels:
            return curve.accuracy[curve.levels.index(float(level))]
    return None
