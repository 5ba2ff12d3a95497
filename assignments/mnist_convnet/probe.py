"""Runs inside the sandbox: builds, trains and runs the student's ConvNet."""

import keras_probe


def build(probe):
    keras_probe.describe_phase(probe, "build_model")


def train(probe):
    keras_probe.train_with_recipe(probe, "build_model")


def predict(probe):
    keras_probe.predict_hidden(probe, "build_model", ["hidden_images"])


PHASES = {"build": build, "train": train, "predict": predict}
