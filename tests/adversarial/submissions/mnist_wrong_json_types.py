"""mnist_convnet: the lecture's model, correct; once the probe has described it, the student's atexit
handler rewrites observations.json with pieces of the wrong JSON types: the total parameters as the
string "207,258" (formatted with {:,} inside the grader, it raised ValueError there), conv2's output
shape with strings for sizes (shown as "got (None, 14, 14, 8), expected (None, 14, 14, 8)"), and
fc2's parameters as true (Python's True is an int, equal to 1)."""

import atexit
import json

import keras
from keras import layers

MARKER = "ADVERSARIAL_mnist_wrong_json_types"


def _rewrite():
    with open("/out/observations.json") as file:
        observations = json.load(file)
    model = observations["model"]
    model["trainable_params"] = f"{model['trainable_params']:,}"
    for layer in model["layers"]:
        if layer["name"] == "conv2":
            layer["output_shape"] = [None, "14", "14", 8]
        if layer["name"] == "fc2":
            layer["trainable_params"] = True
    with open("/out/observations.json", "w") as file:
        json.dump(observations, file)


atexit.register(_rewrite)


def build_model():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(4, 5, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(8, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="fc1")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(10, activation="softmax", name="fc2")(x)
    return keras.Model(inputs, outputs)
