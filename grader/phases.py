"""The sandbox phases that model assignments share: build and describe, train, predict hidden data."""

from __future__ import annotations

from typing import Callable

import numpy as np

from grader.assignment import Phase

BUILD_SECONDS = 60
PREDICT_SECONDS = 120
TRAIN_CPUS = 2
"""Training gets two cores of its own: the course's recipes and the adder's "3 minutes on 2 CPU
cores" are sized for them; building and predicting run on one."""
GPU_SHARE = 0.125
"""Where the grading machine has a GPU, training and prediction ask for an eighth of one, so that
eight sandboxes share a card; without one they compute on their cores."""


def build_phase(probe_inputs: Callable[[np.random.Generator], dict[str, np.ndarray]] | None = None,
                seconds: float = BUILD_SECONDS) -> Phase:
    """Builds the model, describes it, and runs it on grader-chosen inputs (no course data needed)."""

    def inputs(context) -> dict:
        arrays = probe_inputs(np.random.default_rng(0)) if probe_inputs else {}
        return {**arrays, "args": {"seed": 0, "probe_inputs": sorted(arrays)}}

    return Phase("build", seconds, inputs=inputs)


def train_phase(recipe: dict, seconds: float) -> Phase:
    """Trains on the public split only: the hidden digits are not in this sandbox."""

    def inputs(context) -> dict:
        public = context.mnist().public
        return {"public_images": public.images, "public_labels": public.labels,
                "args": {"seed": 0, "recipe": recipe}}

    return Phase("train", seconds, hidden=True, inputs=inputs, cpus=TRAIN_CPUS, gpu=GPU_SHARE)


def predict_phase(seconds: float = PREDICT_SECONDS) -> Phase:
    """A fresh sandbox gets the trained weights and the hidden images; the labels stay outside."""

    def inputs(context) -> dict:
        hidden = context.mnist().hidden
        context.secrets["hidden_labels"] = hidden.labels.astype(np.int64)
        context.secrets["full_mnist"] = len(context.mnist().public) >= 60000
        return {"hidden_images": hidden.images, "weights": context.carried_file("train", "model.weights.h5"),
                "args": {"seed": 0}}

    return Phase("predict", seconds, hidden=True, inputs=inputs, gpu=GPU_SHARE)


def digit_pairs_phase(pairs: int, seconds: float = PREDICT_SECONDS) -> Phase:
    """Pairs of hidden digits drawn with the instructor's secret seed; only their sums are kept outside."""

    def inputs(context) -> dict:
        hidden = context.mnist().hidden
        first, second = context.secret_rng("digit_adder pairs").integers(0, len(hidden), (2, pairs))
        context.secrets["hidden_labels"] = hidden.labels[first].astype(np.int64) + hidden.labels[second]
        context.secrets["full_mnist"] = len(context.mnist().public) >= 60000
        return {"images_a": hidden.images[first], "images_b": hidden.images[second],
                "weights": context.carried_file("train", "model.weights.h5"), "args": {"seed": 0}}

    return Phase("predict", seconds, hidden=True, inputs=inputs, gpu=GPU_SHARE)
