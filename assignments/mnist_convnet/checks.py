"""Assignment 2 (mnist_convnet): what is checked, for how many points."""

from pathlib import Path

import numpy as np

from grader.assignment import Assignment, Check, ExpectedLayer
from grader.checks.accuracy import hidden_accuracy
from grader.checks.model import layer_params, layer_shapes, model_shapes, outputs_are_probabilities, total_params
from grader.phases import build_phase, predict_phase, train_phase

PROBE_IMAGES = 16


def probe_images(rng: np.random.Generator) -> dict:
    return {"images": rng.uniform(0, 1, (PROBE_IMAGES, 28, 28, 1)).astype("float32")}


# The lecture's network: output shape and trainable parameters of each named layer. The shape and
# parameter checks and the report's layer table all read this one table.
LAYERS = {
    "conv1": ExpectedLayer([None, 28, 28, 4], 104),
    "conv2": ExpectedLayer([None, 14, 14, 8], 808),
    "fc1": ExpectedLayer([None, 512], 201_216),
    "fc2": ExpectedLayer([None, 10], 5_130),
}

# The course recipe (reference/mnist_convnet.py trains with the same numbers; a test keeps
# them equal). Kept here so that grading never imports Keras on the trusted side.
RECIPE = {"epochs": 15, "batch_size": 64, "learning_rate": 2e-3}

ASSIGNMENT = Assignment(
    name="mnist_convnet",
    title="The lecture's MNIST ConvNet",
    functions=("build_model",),
    probe=Path(__file__).with_name("probe.py"),
    phases=(build_phase(probe_images), train_phase(RECIPE, seconds=300), predict_phase()),
    expected_layers=LAYERS,
    checks=(
        Check("model input and output shapes", 2, model_shapes([[None, 28, 28, 1]], [[None, 10]]), needs=("build",)),
        Check("layer output shapes: conv1, conv2, fc1, fc2", 3, layer_shapes(
            {name: layer.output_shape for name, layer in LAYERS.items()},
            {"conv1": "a 5x5 kernel without padding shrinks 28x28 to 24x24: use padding='same' (pad 2).",
             "conv2": "conv2 sees the 14x14 output of the first 2x2 max pool and needs padding='same' too."}),
            needs=("build",)),
        Check("parameters per layer", 3, layer_params(
            {name: layer.trainable_params for name, layer in LAYERS.items()},
            {"conv1": "4 filters of 5x5x1 plus 4 biases = 104.",
             "conv2": "8 filters of 5x5x4 plus 8 biases = 808.",
             "fc1": "fc1 sees 7*7*8 = 392 inputs (two 'same' convolutions, two 2x2 pools): 392*512 + 512."}),
            needs=("build",)),
        Check("total parameters: 207,258", 2, total_params(207_258, cause="compare the per-layer counts above."),
              needs=("build",)),
        Check("outputs are probabilities", 1, outputs_are_probabilities(
            PROBE_IMAGES, 10, "fc2 needs activation='softmax' (the lecture's log-softmax, as probabilities)."),
            needs=("build",)),
        Check("accuracy on hidden digits after the course recipe", 9, hidden_accuracy(
            sample=(0.90, 0.97), full=(0.95, 0.985), classes=10, what="hidden digits",
            cause="a layer differs from the lecture's network, or the output is not softmax probabilities."),
            needs=("train", "predict"), hidden=True),
    ),
)
