"""mnist_convnet: builds no model at all. At import it replaces the probe's describe_phase (the probe
runs in the same process as the student's code) with one that records the lecture's model and
saves perfect probabilities. A known weakness: the build checks believe it."""

import json

import keras_probe  # the grader's probe, importable from the sandbox

MARKER = "ADVERSARIAL_mnist_forge_probe"
RIGHT = {"conv1": ([None, 28, 28, 4], 104), "conv2": ([None, 14, 14, 8], 808),
         "fc1": ([None, 512], 201_216), "fc2": ([None, 10], 5_130)}


def forged_describe_phase(probe, builder, key="model"):
    import numpy as np

    layers = [{"name": name, "class": "Dense", "trainable_params": count, "non_trainable_params": 0,
               "output_shape": shape} for name, (shape, count) in RIGHT.items()]
    probe.record(key, {"class": "Functional", "input_shapes": [[None, 28, 28, 1]], "output_shapes": [[None, 10]],
                       "trainable_params": 207_258, "non_trainable_params": 0, "layers": layers})
    probe.save_array("probe_outputs", np.full((16, 10), 0.1, dtype="float32"))
    probe.record("forward", [16, 10])


keras_probe.describe_phase = forged_describe_phase


def build_model():
    return json  # not a model at all
