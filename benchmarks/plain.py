"""The model work of one grading done the plain way, in one process with no sandbox (benchmarks/grading.py)."""

from __future__ import annotations

import importlib

import numpy as np

from grader.config import Config
from grader.data import load_mnist, stratified_split
from grader.phases import report_digits, validation_split
from grader.pictures import robustness
from grader.probe import keras_probe


class _Discard:
    """What keras_probe.save_feature_maps writes to, here nowhere: the work is what is timed."""

    def save_array(self, name, array):
        np.asarray(array)

    def record(self, key, value):
        pass


def image_classifier(name: str, builder: str, pad: int = 0) -> None:
    """What grading the trained image classifier `name` computes: the course recipe on the public
    digits less the validation ones (with validation in fit, for the curves), predictions of the
    hidden digits and of the robustness set, and the report's feature maps."""
    import keras

    recipe = importlib.import_module(f"assignments.{name}.checks").RECIPE
    student = importlib.import_module(f"reference.{name}")
    data = load_mnist(Config(use_keras_download=False))
    train, validation = validation_split(data.public)
    model = getattr(student, builder)()
    steps = recipe["epochs"] * -(-len(train) // recipe["batch_size"])
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(recipe["learning_rate"], steps)),
                  loss=keras_probe.recipe_loss(), metrics=["accuracy"])
    model.fit(keras_probe.as_float_images(train.images, pad), train.labels, epochs=recipe["epochs"],
              batch_size=recipe["batch_size"], verbose=0,
              validation_data=(keras_probe.as_float_images(validation.images, pad), validation.labels))
    model.predict(keras_probe.as_float_images(data.hidden.images, pad), batch_size=500, verbose=0)
    images, _ = robustness.make_set(data.hidden.images, data.hidden.labels, np.random.default_rng(0))
    model.predict(keras_probe.as_float_images(images, pad), batch_size=500, verbose=0)
    keras_probe.save_feature_maps(_Discard(), model, keras_probe.as_float_images(report_digits(data.public), pad))


def digit_adder() -> None:
    """What grading the digit adder computes: train_adder on the same public digits as the train
    phase, then predictions of as many hidden pairs as the predict phase."""
    from assignments.digit_adder.checks import HIDDEN_PAIRS, TRAIN_DIGITS
    from reference import digit_adder as adder

    data = load_mnist(Config(use_keras_download=False))
    images, labels = data.public.images, data.public.labels
    if len(labels) > TRAIN_DIGITS:
        _, subset = stratified_split(images, labels, TRAIN_DIGITS / len(labels), seed=TRAIN_DIGITS)
        images, labels = subset.images, subset.labels
    model = adder.train_adder(adder.build_adder(), keras_probe.as_float_images(images), labels.astype("int64"))
    first, second = np.random.default_rng(0).integers(0, len(data.hidden), (2, HIDDEN_PAIRS))
    hidden = keras_probe.as_float_images(data.hidden.images)
    model.predict([hidden[first], hidden[second]], batch_size=500, verbose=0)
