"""The report's pictures, drawn from a grading's Figures with matplotlib's Agg renderer on the trusted side."""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from grader.pictures.figures import Difference, FeatureMaps, Figures, RobustnessCurve
from grader.present import plural

log = logging.getLogger(__name__)
# A layer name in a script DejaVu Sans lacks (Chinese, say) draws as boxes: worth no warning per glyph
# in the site's log.
warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from font", UserWarning)

DPI = 100
"""Pixels per inch of every picture: a 6-inch-wide picture is 600 pixels, tens of kilobytes as PNG."""
MAX_KERNELS = 64
"""Kernels shown at most; a ResNet's 64 first kernels still fit one readable grid."""
LABELLED_KERNELS = 16
"""Up to this many kernels each get their own labelled square (LeNet-5's six 5x5 at a readable size);
more are tiled into one grid."""
MAP_COLUMNS = 8
"""Feature maps per row of a layer's grid."""
MARKED_EPOCHS = 40
"""Learning curves up to this many epochs get a marker per epoch; longer ones are plain lines."""
MAX_DIFFERENCES = 4
"""Wrong worked examples drawn at most: the first few tell the pattern."""
ANNOTATED_VALUES = 36
"""Outputs of at most this many values (6x6) have each value written in its cell."""
WEIGHTS = "RdBu_r"
"""Signed values (weights, activations before a non-linearity): red positive, blue negative, white zero."""
ACTIVITY = "magma"
"""Unsigned values (activations scaled to 0..1, |got - expected|): dark low, bright high."""
GAP = "#b8b8b8"
DIAGONAL = LinearSegmentedColormap.from_list("diagonal", ["#f2f8f2", "#1b7837"])
MISTAKES = LinearSegmentedColormap.from_list("mistakes", ["#fff7f3", "#b2182b"])
TRANSFORMS = {"shift": ("Shift", "shift (pixels)", lambda level: f"{level:g} pixel{'' if level == 1 else 's'}"),
              "rotation": ("Rotation", "rotation (degrees)", lambda level: f"{level:g} degrees"),
              "noise": ("Noise", "noise (sigma, on pixels in 0..1)", lambda level: f"sigma {level:g}")}
"""Each transformation's panel title, axis label and how one of its levels reads in a sentence."""


@dataclass(frozen=True)
class Picture:
    """One drawn picture of a report."""

    name: str
    """File stem, letters, digits and underscores only ("feature_maps_2"), never a student's string:
    the page writes it as NAME.png."""
    title: str
    """"Feature maps of 'c1' (Conv2D)"."""
    caption: str
    """What the picture shows and how to read it, in words for the student."""
    png: bytes
    alt: str
    """The picture in one sentence, for a reader who cannot see it."""


def draw(figures: Figures) -> list[Picture]:
    """Every picture `figures` has the numbers for, in report order: kernels, feature maps (one per
    layer), learning curves, confusion matrix, robustness, conv_ops differences. A figure absent from
    `figures` (see Figures.missing) gives no picture; so does one whose stored numbers cannot be drawn,
    which is logged."""
    pictures = []
    for drawer in DRAWERS:
        try:
            pictures.extend(drawer(figures))
        except Exception:  # stored numbers the drawer cannot use: the rest of the report still stands
            log.exception("cannot draw the %s picture", drawer.__name__)
    return pictures


def layer_messages(checks: Iterable) -> dict[str, list[str]]:
    """The lines of the checks' messages that are about one layer, by layer name, for the layer table.

    "Layer 'c3': output shape got (None, 12, 12, 16), expected (None, 10, 10, 16)." is kept under "c3"
    without its "Layer 'c3': " prefix (the table row names the layer); "Your model has no layer named
    'c3' ..." is kept whole under "c3". Each line once, in check order.
    """
    messages: dict[str, list[str]] = {}
    for check in checks:
        for line in check.message.splitlines():
            found = _LAYER_LINE.match(line) or _NO_LAYER_LINE.match(line)
            if found is None:
                continue
            text = found["rest"].strip() if "rest" in found.groupdict() else line.strip()
            if text and text not in messages.setdefault(found["name"], []):
                messages[found["name"]].append(text)
    return messages


_LAYER_LINE = re.compile(r"^\s*Layer '(?P<name>[^']+)':? (?P<rest>.+)$")
_NO_LAYER_LINE = re.compile(r"^\s*Your model has no layer named '(?P<name>[^']+)'")


# --- the pictures ---

def kernels(figures: Figures) -> Iterator[Picture]:
    if figures.kernels is None:
        return
    weights = np.asarray(figures.kernels, dtype=np.float32)
    if weights.ndim != 4 or 0 in weights.shape:
        raise ValueError(f"Expected kernels of shape (height, width, inputs, maps). Received shape={weights.shape}.")
    height, width, inputs, maps = weights.shape
    shown = min(maps, MAX_KERNELS)
    images = [kernel_image(weights[:, :, :, index]) for index in range(shown)]
    finite = np.abs(weights[..., :shown][np.isfinite(weights[..., :shown])])
    scale = float(finite.max()) if finite.size else 0.0
    scale = scale or 1.0
    layer = _quoted(figures.kernel_layer or "the first convolution")

    if shown <= LABELLED_KERNELS:
        columns = min(shown, 8)
        rows = -(-shown // columns)
        side = 1.3 if shown <= 8 else 1.0
        figure = _figure(side * columns + 0.9, side * rows + 0.5)
        grid = figure.add_gridspec(rows, columns + 1, width_ratios=[1] * columns + [0.12])
        for index, image in enumerate(images):
            axes = figure.add_subplot(grid[index // columns, index % columns])
            shown_image = axes.imshow(_masked(image), cmap=_with_gaps(WEIGHTS), vmin=-scale, vmax=scale,
                                      interpolation="nearest")
            axes.set_title(f"map {index + 1}", fontsize=9)
            _bare(axes)
        figure.colorbar(shown_image, cax=figure.add_subplot(grid[:, columns]))
    else:
        mosaic = tile(np.stack(images, axis=-1), columns=MAP_COLUMNS)
        figure = _figure(7.0, 7.0 * mosaic.shape[0] / mosaic.shape[1] + 0.3)
        axes = figure.add_subplot()
        shown_image = axes.imshow(_masked(mosaic), cmap=_with_gaps(WEIGHTS), vmin=-scale, vmax=scale,
                                  interpolation="nearest")
        _bare(axes)
        figure.colorbar(shown_image, ax=axes, fraction=0.03)

    through = "" if inputs == 1 else f" Each kernel has {inputs} input channels; shown is their mean."
    blank = [index + 1 for index in range(shown) if _blank(weights[..., index], scale)]
    blank_text = (f" {'Map' if len(blank) == 1 else 'Maps'} {_numbers(blank)} "
                  f"{'is' if len(blank) == 1 else 'are'} nearly blank (every weight under 5% of the largest): "
                  f"{'that kernel detects' if len(blank) == 1 else 'those kernels detect'} nothing." if blank else "")
    of = f"the first {shown} of {maps}" if shown < maps else f"all {maps}"
    yield Picture(
        "kernels", f"Kernels of {layer}",
        f"{of.capitalize()} {height}x{width} kernels your first convolution learned, one square per map. "
        f"Red weights are positive, blue negative, white near zero, on one scale for all kernels "
        f"(largest |weight| {scale:.3g}). Trained kernels usually show edges or strokes: a light side "
        f"beside a dark side.{through}{blank_text}",
        _png(figure), f"{of.capitalize()} {height}x{width} kernels of {layer} as small colour squares.")


def kernel_image(kernel: np.ndarray) -> np.ndarray:
    """What one kernel (height, width, inputs) is shown as: itself for one input channel, else the
    mean over its input channels (non-finite weights blank)."""
    kernel = np.where(np.isfinite(kernel), kernel, np.nan)
    return kernel[..., 0] if kernel.shape[-1] == 1 else kernel.mean(axis=-1)


def feature_maps(figures: Figures) -> Iterator[Picture]:
    for number, layer in enumerate(figures.feature_maps, start=1):
        yield _feature_map_picture(number, layer, figures)


def _feature_map_picture(number: int, layer: FeatureMaps, figures: Figures) -> Picture:
    original = np.asarray(layer.original, dtype=np.float32)
    shifted = np.asarray(layer.shifted, dtype=np.float32)
    if original.ndim != 3 or shifted.shape != original.shape:
        raise ValueError(f"Expected two activations of one shape (height, width, maps). "
                         f"Received shapes {original.shape} and {shifted.shape}.")
    low, high = scale_pair(original, shifted)
    mosaics = [tile((maps - low) / (high - low), columns=MAP_COLUMNS) for maps in (original, shifted)]
    digits = figures.digit if figures.digit is not None and np.shape(figures.digit) == (2, 28, 28) else None
    down, right = figures.shift_pixels
    shift = _shift_text(down, right)

    aspect = mosaics[0].shape[0] / mosaics[0].shape[1]
    maps_width = 6.0
    row_height = max(0.9, maps_width * aspect)
    figure = _figure(maps_width + (1.4 if digits is not None else 0) + 0.3, 2 * row_height + 0.7)
    grid = figure.add_gridspec(2, 2 if digits is not None else 1,
                               width_ratios=[row_height, maps_width] if digits is not None else [1])
    for row, (mosaic, label) in enumerate(zip(mosaics, ("the digit", f"shifted\n{_shift_text(down, right, short=True)}"))):
        if digits is not None:
            axes = figure.add_subplot(grid[row, 0])
            axes.imshow(digits[row], cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
            axes.set_title(label, fontsize=9)
            _bare(axes)
        axes = figure.add_subplot(grid[row, -1])
        axes.imshow(_masked(mosaic), cmap=_with_gaps(ACTIVITY), vmin=0, vmax=1, interpolation="nearest")
        axes.set_title(f"{_drawn(layer.layer)}: {label}" if digits is None else "its feature maps", fontsize=9)
        _bare(axes)

    height, width, maps = original.shape
    name = _quoted(layer.layer)
    of = f"the first {maps} of its {layer.maps}" if maps < layer.maps else f"its {layer.maps}"
    dead = [index + 1 for index in range(maps) if _flat(original[..., index], shifted[..., index])]
    dead_text = (f" {'Map' if len(dead) == 1 else 'Maps'} {_numbers(dead)} {'is' if len(dead) == 1 else 'are'} "
                 f"the same everywhere for both digits: {'that map responds' if len(dead) == 1 else 'those maps respond'} to nothing." if dead else "")
    return Picture(
        f"feature_maps_{number}", f"Feature maps of {name} ({_plain(layer.kind)})",
        f"What {name} computes from one public digit (top) and from the same digit shifted {shift} "
        f"(bottom): {of} maps, each {height}x{width}, in reading order. Each map is scaled on its own, "
        "with the same scale in both rows, bright where it responds. A convolution's maps move with the "
        "digit; pooling makes them smaller and moves them less." + dead_text,
        _png(figure), f"{maps} feature maps of {name} for a digit and for it shifted {shift}.")


def scale_pair(original: np.ndarray, shifted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per map, the lowest and highest finite value over both digits (shape (1, 1, maps) each), so a
    map reads the same in both rows; a flat map gets a range of 1, so it shows as its low end."""
    both = np.concatenate([original, shifted], axis=0)
    finite = np.isfinite(both)
    low = np.where(finite, both, np.inf).min(axis=(0, 1), keepdims=True, initial=np.inf)
    high = np.where(finite, both, -np.inf).max(axis=(0, 1), keepdims=True, initial=-np.inf)
    low = np.where(np.isfinite(low), low, 0.0)
    high = np.where(np.isfinite(high), high, 0.0)
    return low, np.where(high - low <= _FLAT, low + 1.0, high)


_FLAT = 1e-6
"""A map whose values all lie within this of each other responds to nothing."""


def _flat(*maps: np.ndarray) -> bool:
    values = np.concatenate([m.ravel() for m in maps])
    values = values[np.isfinite(values)]
    return values.size == 0 or float(values.max() - values.min()) <= _FLAT


def learning_curves(figures: Figures) -> Iterator[Picture]:
    curves = figures.curves
    if curves is None or not curves.loss:
        return
    panels = [("loss", curves.loss, curves.val_loss)]
    if curves.accuracy or curves.val_accuracy:
        panels.append(("accuracy", curves.accuracy, curves.val_accuracy))
    figure = _figure(4.2 * len(panels), 3.2)
    turned = turned_up(curves.val_loss)
    for index, (what, training, validation) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        for values, label, line, marker in ((training, "training", "-", "o"), (validation, "validation", "--", "s")):
            if values:  # a marker per epoch while they can be told apart
                axes.plot(range(1, len(values) + 1), values, linestyle=line, label=label, markersize=4,
                          marker=marker if len(values) <= MARKED_EPOCHS else None)
        if turned is not None:
            axes.axvline(turned, color="#888888", linestyle=":",
                         label=f"validation loss lowest (epoch {turned})")
        axes.set_xlabel("epoch")
        axes.set_ylabel(what)
        if what == "accuracy":
            axes.set_ylim(_accuracy_limits(training, validation))
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)

    epochs = len(curves.loss)
    if curves.validation_size and curves.train_size:
        data = (f"Trained on {curves.train_size:,} public digits; the validation curves are on "
                f"{curves.validation_size:,} public digits held out from training.")
    elif curves.val_loss:
        data = "The validation curves are on the data your own training held out."
    else:
        data = ("There are no validation curves: your training used no validation data"
                if curves.train_size is None else "There are no validation curves.")
        data += ", so these curves cannot show overfitting."
    if turned is not None:
        lesson = (f" Validation loss was lowest after epoch {turned} and rose after it, while training went on: "
                  f"from there the model fits the training digits better but new digits worse. Fewer epochs, "
                  "or stopping at the lowest validation loss, would keep the better model.")
    elif curves.val_loss and epochs > 1:
        lesson = " Validation loss fell to the last epoch: no sign of overfitting."
    else:
        lesson = ""
    yield Picture(
        "learning_curves", "Learning curves",
        f"Loss{' and accuracy' if len(panels) == 2 else ''} after "
        f"{'each of ' if epochs > 1 else ''}{plural(epochs, 'epoch')}, "
        f"on the training data (solid) and on validation data (dashed). {data}{lesson}",
        _png(figure), f"Training and validation loss{' and accuracy' if len(panels) == 2 else ''} "
                      f"over {plural(epochs, 'epoch')}.")


def turned_up(val_loss: tuple[float, ...]) -> int | None:
    """The epoch (from 1) after which validation loss was lowest, when it rose by more than 1% of that
    lowest value later; None when it kept falling (or there is none)."""
    values = np.asarray(val_loss, dtype=np.float64)
    if values.size < 2 or not np.isfinite(values).all():
        return None
    best = int(np.argmin(values))
    if best == values.size - 1 or values[best + 1:].max() <= values[best] + 0.01 * abs(values[best]):
        return None
    return best + 1


def confusion(figures: Figures) -> Iterator[Picture]:
    if figures.confusion is None:
        return
    counts = np.asarray(figures.confusion, dtype=np.int64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"Expected a square confusion matrix. Received shape={counts.shape}.")
    classes = counts.shape[0]
    rows = counts.sum(axis=1, keepdims=True)
    rates = counts / np.maximum(rows, 1)
    diagonal = np.eye(classes, dtype=bool)
    side = 4.2 if classes <= 10 else 6.5
    figure = _figure(side + 0.4, side)
    axes = figure.add_subplot()
    axes.imshow(np.ma.masked_where(~diagonal, rates), cmap=DIAGONAL, vmin=0, vmax=1, interpolation="nearest")
    mistakes = np.where(diagonal, 0, rates)
    axes.imshow(np.ma.masked_where(diagonal, rates), cmap=MISTAKES, vmin=0, vmax=max(mistakes.max(), 1e-9),
                interpolation="nearest")
    size = 8 if classes <= 10 else 6
    for true in range(classes):
        for predicted in range(classes):
            count = counts[true, predicted]
            if count or true == predicted:
                top = 1.0 if true == predicted else max(mistakes.max(), 1e-9)
                dark = rates[true, predicted] > 0.55 * top
                axes.text(predicted, true, f"{count:,}", ha="center", va="center", fontsize=size,
                          color="white" if dark else "black")
    axes.set_xticks(range(classes))
    axes.set_yticks(range(classes))
    axes.tick_params(labelsize=size)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")

    total = int(counts.sum())
    right = int(np.trace(counts))
    worst = [(int(counts[t, p]), t, p) for t in range(classes) for p in range(classes) if t != p and counts[t, p]]
    worst = sorted(worst, key=lambda item: (-item[0], item[1], item[2]))[:3]
    worst_text = (" Most often confused: " + "; ".join(f"{t} taken for {p} ({plural(n, 'time')})" for n, t, p in worst)
                  + "." if worst else " No mistakes.")
    yield Picture(
        "confusion", "Confusion matrix on the hidden digits",
        f"Rows are the true class, columns what your model predicted, over {total:,} hidden "
        f"{'digits' if classes == 10 else 'examples'} ({right:,} right, {right / max(total, 1):.1%}). "
        f"Each cell holds a count; the diagonal (green) is right, the other cells (red, darker for a "
        f"larger share of their row) are mistakes.{worst_text}",
        _png(figure), f"A {classes} by {classes} confusion matrix: {right:,} of {total:,} right.")


def robustness(figures: Figures) -> Iterator[Picture]:
    curves = [curve for curve in figures.robustness if curve.transform in TRANSFORMS]
    if not curves:
        return
    reference = {curve.transform: curve for curve in figures.reference_robustness}
    figure = _figure(3.3 * len(curves), 3.0)
    lines = []
    for index, curve in enumerate(curves):
        axes = figure.add_subplot(1, len(curves), index + 1)
        name, unit, _ = TRANSFORMS[curve.transform]
        _check_curve(curve)
        axes.plot(curve.levels, np.asarray(curve.accuracy) * 100, "-o", markersize=4, label="your model")
        theirs = reference.get(curve.transform)
        if theirs is not None:
            _check_curve(theirs)
            axes.plot(theirs.levels, np.asarray(theirs.accuracy) * 100, "--s", color="#777777", markersize=3,
                      label="reference model")
        axes.set_title(name, fontsize=10)
        axes.set_xlabel(unit, fontsize=9)
        axes.set_ylim(0, 100)
        axes.grid(alpha=0.3)
        if index == 0:
            axes.set_ylabel("accuracy (%)")
            axes.legend(fontsize=8, loc="lower left")
        lines.append(_robustness_line(curve, theirs))
    digits = curves[0].digits
    reference_text = ("" if reference else
                      " The reference model's curves are not available for this grading, so only yours are shown.")
    yield Picture(
        "robustness", "Robustness: shifted, rotated and noisy hidden digits",
        f"Accuracy on {digits:,} hidden digits at each strength of a transformation, your model (solid) "
        f"beside the course's reference model (dashed). A model that keeps its accuracy as the digits move "
        f"has learned the digit, not where its pixels are. {' '.join(lines)}{reference_text}",
        _png(figure), "Accuracy against shift, rotation and noise, your model beside the reference.")


def _robustness_line(curve: RobustnessCurve, reference: RobustnessCurve | None) -> str:
    name, _, level_text = TRANSFORMS[curve.transform]
    level, accuracy = curve.levels[-1], curve.accuracy[-1]
    where = f"At the strongest {name.lower()} ({level_text(level)})"
    if reference is not None and level in reference.levels:
        theirs = reference.accuracy[reference.levels.index(level)]
        return f"{where} yours keeps {accuracy:.0%}, the reference {theirs:.0%}."
    return f"{where} yours keeps {accuracy:.0%}."


def differences(figures: Figures) -> Iterator[Picture]:
    for number, difference in enumerate(figures.differences[:MAX_DIFFERENCES], start=1):
        yield _difference_picture(number, difference, len(figures.differences))


def _difference_picture(number: int, difference: Difference, total: int) -> Picture:
    got = np.asarray(difference.got, dtype=np.float64)
    expected = np.asarray(difference.expected, dtype=np.float64)
    if got.ndim != 2 or expected.ndim != 2:
        raise ValueError(f"Expected 2-D answers. Received shapes {got.shape} and {expected.shape}.")
    case = _plain(difference.case)
    same_shape = got.shape == expected.shape
    finite_got = np.where(np.isfinite(got), got, np.nan)
    scale = max(float(np.nanmax(np.abs(finite_got))) if np.isfinite(got).any() else 0.0,
                float(np.nanmax(np.abs(expected))) if expected.size and np.isfinite(expected).any() else 0.0) or 1.0
    panels = [("your conv2d returned", finite_got), ("expected", expected)]
    figure = _figure(3.3 * (3 if same_shape else 2), 3.0)
    grid = figure.subplots(1, 3 if same_shape else 2, squeeze=False)[0]
    for axes, (title, values) in zip(grid, panels):
        image = axes.imshow(_masked(values), cmap=_with_gaps(WEIGHTS), vmin=-scale, vmax=scale, interpolation="nearest")
        axes.set_title(f"{title} {values.shape[0]}x{values.shape[1]}", fontsize=9)
        _ticks(axes, values.shape)
        _values(axes, values, scale)
    figure.colorbar(image, ax=list(grid[:2]), fraction=0.04)
    if same_shape:
        gap = np.abs(got - expected)
        axes = grid[2]
        largest = float(np.nanmax(np.where(np.isfinite(gap), gap, np.nan))) if np.isfinite(gap).any() else 0.0
        image = axes.imshow(_masked(np.where(np.isfinite(gap), gap, np.nan)), cmap=_with_gaps(ACTIVITY),
                            vmin=0, vmax=largest or 1.0, interpolation="nearest")
        axes.set_title("|got - expected|", fontsize=9)
        _ticks(axes, gap.shape)
        figure.colorbar(image, ax=axes, fraction=0.046)
        wrong = int((~np.isclose(got, expected, atol=1e-5)).sum())
        row, column = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(gap), gap, -1))), gap.shape)
        not_finite = int((~np.isfinite(got)).sum())
        detail = (f"{wrong:,} of {gap.size:,} values are off by more than 1e-5; the largest difference, "
                  f"{largest:.3g}, is at row {row}, column {column}. A pattern mirrored across the centre "
                  "points to a flipped kernel (convolution against cross-correlation); a wrong border points "
                  "to padding; differences everywhere to the arithmetic or the stride.")
        if not_finite:
            detail += f" {plural(not_finite, 'value')} you returned {'is' if not_finite == 1 else 'are'} not a finite number (shown grey)."
    else:
        detail = (f"Your output is {got.shape[0]}x{got.shape[1]} where {expected.shape[0]}x{expected.shape[1]} "
                  "was expected, so they cannot be compared value by value: check the output size formula "
                  "(input + 2 x padding - kernel) / stride + 1.")
    more = f" (the first {MAX_DIFFERENCES} of {total} wrong examples are drawn)" if total > MAX_DIFFERENCES else ""
    return Picture(
        f"difference_{number}", f"Where conv2d is wrong: {case}",
        f"One image and channel of the output of {case}: what your conv2d returned beside the expected "
        f"output (red positive, blue negative), and the size of the error at each position{more}. {detail}",
        _png(figure), f"Your conv2d output, the expected output and their difference for {case}.")


HIDDEN_PICTURES = frozenset({"confusion", "robustness"})
"""The pictures made from Figures.HIDDEN (hidden digits): a page that withholds those leaves these out."""

DRAWERS: tuple[Callable[[Figures], Iterable[Picture]], ...] = (
    kernels, feature_maps, learning_curves, confusion, robustness, differences)
"""Report order: what the network learned, how it trained, how it does, then conv_ops's answers."""


# --- helpers ---

def tile(maps: np.ndarray, columns: int) -> np.ndarray:
    """(height, width, n) maps as one 2-D grid image, `columns` maps a row in reading order, one NaN
    row and column between neighbours (drawn as the background) and NaN where the last row is short."""
    height, width, count = maps.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    grid = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan, dtype=np.float32)
    for index in range(count):
        top, left = (index // columns) * (height + 1), (index % columns) * (width + 1)
        grid[top:top + height, left:left + width] = maps[:, :, index]
    return grid


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    # No Software metadata: the same numbers give the same bytes whatever matplotlib drew them.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _figure(width: float, height: float) -> Figure:
    # A Figure of its own, not pyplot's global state: the site draws from several threads at once.
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _bare(axes) -> None:
    axes.set_xticks([])
    axes.set_yticks([])


def _ticks(axes, shape: tuple[int, int]) -> None:
    for ticks, count in ((axes.set_yticks, shape[0]), (axes.set_xticks, shape[1])):
        ticks(range(count) if count <= 8 else range(0, count, max(1, count // 6)))
    axes.tick_params(labelsize=7)


def _values(axes, values: np.ndarray, scale: float) -> None:
    """Each value written in its cell, for outputs small enough to read (a worked example's)."""
    if values.size > ANNOTATED_VALUES:
        return
    for (row, column), value in np.ndenumerate(values):
        if np.isfinite(value):
            axes.text(column, row, f"{value:.3g}", ha="center", va="center", fontsize=7,
                      color="white" if abs(value) > 0.6 * scale else "black")


def _masked(values: np.ndarray) -> np.ma.MaskedArray:
    return np.ma.masked_invalid(values)


def _with_gaps(name: str):
    """The colour map with the gaps between tiles (and non-finite values) in a grey that no value has:
    a blank kernel (white in WEIGHTS) still shows as a square of its own."""
    return colormaps[name].with_extremes(bad=GAP)


def _blank(kernel: np.ndarray, scale: float) -> bool:
    return bool(np.nanmax(np.abs(kernel)) < 0.05 * scale) if kernel.size else True


def _check_curve(curve: RobustnessCurve) -> None:
    if len(curve.levels) != len(curve.accuracy) or not curve.levels:
        raise ValueError(f"Expected one accuracy per level. Received {len(curve.levels)} levels and "
                         f"{len(curve.accuracy)} accuracies for {curve.transform}.")


def _accuracy_limits(*series: tuple[float, ...]) -> tuple[float, float]:
    """From a little under the lowest accuracy to just over 1: a curve from 0.95 to 0.99 stays readable."""
    values = [v for s in series for v in s if np.isfinite(v)] or [0.0, 1.0]
    return max(0.0, min(values) - 0.05), max(1.0, max(values)) + 0.005


def _shift_text(down: int, right: int, short: bool = False) -> str:
    """"3 pixels down and 3 pixels right"; short: "3 down, 3 right"."""
    if short:
        return ", ".join(f"{abs(n)} {word}" for n, word in ((down, "down" if down >= 0 else "up"),
                                                         (right, "right" if right >= 0 else "left")) if n) or "by 0"
    parts = [f"{abs(n)} pixel{'s' if abs(n) != 1 else ''} {word}" for n, word in
             ((down, "down" if down >= 0 else "up"), (right, "right" if right >= 0 else "left")) if n]
    return " and ".join(parts) or "by 0 pixels"


def _numbers(numbers: list[int]) -> str:
    shown = [str(n) for n in numbers[:8]]
    text = ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else shown[0]
    return text + (f" (and {len(numbers) - 8} more)" if len(numbers) > 8 else "")


def _plain(text: str, limit: int = 60) -> str:
    """A student's string (a layer's name) for a title or caption: one line, at most `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _drawn(text: str) -> str:
    """_plain(text) as matplotlib draws it literally: every "$" escaped, so it never starts mathtext
    (which would fail to draw on a name like "a$\\b$")."""
    return _plain(text).replace("$", r"\$")


def _quoted(name: str) -> str:
    return f"'{_plain(name)}'"
