"""mnist_convnet: a wrong model (3x3 kernels in conv1, no softmax) that patches Keras so that every
count_params() reports the lecture's numbers, and that writes, at import, an observations.json
describing the right model and probe outputs that are perfect probabilities."""

import json

import keras
import numpy as np
from keras import layers

MARKER = "ADVERSARIAL_mnist_count_params"
RIGHT = {"conv1": 104, "conv2": 808, "fc1": 201_216, "fc2": 5_130}

keras.Model.count_params = lambda self: 207_258
keras.layers.Layer.count_params = lambda self: RIGHT.get(self.name, 0)

FAKE_LAYERS = [{"name": name, "class": "Conv2D", "trainable_params": count, "non_trainable_params": 0,
                "output_shape": shape} for (name, count), shape in
               zip(RIGHT.items(), ([None, 28, 28, 4], [None, 14, 14, 8], [None, 512], [None, 10]))]
with open("/out/observations.json", "w") as file:
    json.dump({"errors": {}, "seconds": {}, "forward": [16, 10], "model": {
        "input_shapes": [[None, 28, 28, 1]], "output_shapes": [[None, 10]], "trainable_params": 207_258,
        "non_trainable_params": 0, "layers": FAKE_LAYERS}}, file)
np.save("/out/probe_outputs.npy", np.full((16, 10), 0.1, dtype="float32"))


def build_model():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(8, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="fc1")(x)
    outputs = layers.Dense(10, name="fc2")(x)
    return keras.Model(inputs, outputs)
