"""mnist_convnet: replaces the probe's build and train steps with ones that record nothing, so the
train phase ends "successfully" without the weights file the predict phase is built from. The
grader looked that file up with os.lstat and stopped grading with FileNotFoundError."""

import keras_probe  # the grader's probe, importable from the sandbox

MARKER = "ADVERSARIAL_mnist_train_no_weights"

keras_probe.describe_phase = lambda probe, builder, key="model": None
keras_probe.train_with_recipe = lambda probe, builder, pad=0: probe.record("trained", True)


def build_model():
    return None
