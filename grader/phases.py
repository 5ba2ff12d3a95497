"""The sandbox phases that model assignments share: build and describe, train, predict hidden data."""

from __future__ import annotations

from typing import Callable

import numpy as np

from grader.assignment import Phase
from grader.data import Split, stratified_split
from grader.pictures import reference, robustness

BUILD_SECONDS = 60
PREDICT_SECONDS = 120
TRAIN_CPUS = 2
"""Training gets two cores of its own: the course's recipes and the adder's "3 minutes on 2 CPU
cores" are sized for them; building and predicting run on one."""
GPU_SHARE = 0.125
"""Where the grading machine has a GPU, training and prediction ask for an eighth of one, so that
eight sandboxes share a card; without one they compute on their cores."""
VALIDATION_FRACTION = 0.1
VALIDATION_SEED = 10
"""The validation digits are a fixed, stratified 10% of the public split, the same in every grading:
the learning curves of two submissions are on the same digits. Public labels are no secret."""
REPORT_DIGIT_LABEL = 5
"""The report's feature maps are of the first public digit of this class (asymmetric, so a shift shows)."""
REPORT_SHIFT = (3, 3)
"""(down, right): how far the report's second digit is the first one moved."""


def build_phase(probe_inputs: Callable[[np.random.Generator], dict[str, np.ndarray]] | None = None,
                seconds: float = BUILD_SECONDS) -> Phase:
    """Builds the model, describes it, and runs it on grader-chosen inputs (no course data needed)."""

    def inputs(context) -> dict:
        arrays = probe_inputs(np.random.default_rng(0)) if probe_inputs else {}
        return {**arrays, "args": {"seed": 0, "probe_inputs": sorted(arrays)}}

    return Phase("build", seconds, inputs=inputs)


def validation_split(public: Split) -> tuple[Split, Split]:
    """(the digits the recipe trains on, the held-out validation digits) of the public split."""
    return stratified_split(public.images, public.labels, VALIDATION_FRACTION, VALIDATION_SEED)


def train_phase(recipe: dict, seconds: float) -> Phase:
    """Trains on the public split only, less the validation digits: the hidden digits are not in this
    sandbox, which it shares with the build phase in a full grading (Phase.joins_previous)."""

    def inputs(context) -> dict:
        train, validation = validation_split(context.mnist().public)
        return {"public_images": train.images, "public_labels": train.labels,
                "validation_images": validation.images, "validation_labels": validation.labels,
                "args": {"seed": 0, "recipe": recipe}}

    return Phase("train", seconds, hidden=True, inputs=inputs, cpus=TRAIN_CPUS, gpu=GPU_SHARE, joins_previous=True)


WEIGHTS = "the trained model's weights"
"""How feedback names the file the train phase hands to the predict phase."""


def report_digits(public: Split) -> np.ndarray:
    """(2, 28, 28) uint8: the report's public digit and the same digit moved by REPORT_SHIFT."""
    digit = public.images[np.flatnonzero(public.labels == REPORT_DIGIT_LABEL)[0]]
    return np.stack([digit, robustness.shift(digit[None], *REPORT_SHIFT)[0]])


def predict_phase(seconds: float = PREDICT_SECONDS) -> Phase:
    """A fresh sandbox gets the trained weights, the hidden images and, for the report, two public
    digits and transformed hidden digits; every label stays outside."""

    def inputs(context) -> dict:
        mnist = context.mnist()
        hidden = mnist.hidden
        context.secrets["hidden_labels"] = hidden.labels.astype(np.int64)
        context.secrets["full_mnist"] = len(mnist.public) >= 60000
        weights = context.carried_file("train", "model.weights.h5", WEIGHTS)
        digits = report_digits(mnist.public)
        images, plan = robustness.make_set(hidden.images, hidden.labels, context.secret_rng("robustness"))
        context.secrets |= {"report_digits": digits, "report_shift": REPORT_SHIFT, "robustness": plan}
        if not context.reference:
            context.secrets["reference_robustness"] = reference.robustness_of_reference(context, images)
        return {"hidden_images": hidden.images, "weights": weights, "report_digits": digits,
                "robustness_images": images, "args": {"seed": 0}}

    return Phase("predict", seconds, hidden=True, inputs=inputs, gpu=GPU_SHARE)


def digit_pairs_phase(pairs: int, seconds: float = PREDICT_SECONDS) -> Phase:
    """Pairs of hidden digits drawn with the instructor's secret seed; only their sums are kept outside."""

    def inputs(context) -> dict:
        hidden = context.mnist().hidden
        first, second = context.secret_rng("digit_adder pairs").integers(0, len(hidden), (2, pairs))
        context.secrets["hidden_labels"] = hidden.labels[first].astype(np.int64) + hidden.labels[second]
        context.secrets["full_mnist"] = len(context.mnist().public) >= 60000
        return {"images_a": hidden.images[first], "images_b": hidden.images[second],
                "weights": context.carried_file("train", "model.weights.h5", WEIGHTS), "args": {"seed": 0}}

    return Phase("predict", seconds, hidden=True, inputs=inputs, gpu=GPU_SHARE)
