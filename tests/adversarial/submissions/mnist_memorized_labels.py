"""mnist_convnet: the lecture's model, never trained: fit is replaced by a no-op, and predict by a
lookup of each image in a table of MNIST's labels, which anyone can download (its test set too).
A known weakness: the hidden digits are public MNIST digits, so the accuracy points can be had with
a table of labels instead of a trained model."""

import hashlib

import keras
import numpy as np
from keras import layers

MARKER = "ADVERSARIAL_mnist_memorized_labels"
LABELS = {}  # the test fills in the public MNIST labels, keyed by a hash of the image's pixels


class _History:
    history = {"loss": [0.0]}


def _lookup(self, images, *args, **kwargs):
    pixels = np.rint(np.asarray(images)[..., 0] * 255).astype(np.uint8)
    probabilities = np.full((len(pixels), 10), 0.1, dtype="float32")
    for row, image in zip(probabilities, pixels):
        label = LABELS.get(hashlib.sha256(image.tobytes()).hexdigest()[:12])
        if label is not None:
            row[:] = np.eye(10)[label]
    return probabilities


keras.Model.fit = lambda self, *args, **kwargs: _History()
keras.Model.predict = _lookup


def build_model():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(4, 5, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(8, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="fc1")(x)
    outputs = layers.Dense(10, activation="softmax", name="fc2")(x)
    return keras.Model(inputs, outputs)
