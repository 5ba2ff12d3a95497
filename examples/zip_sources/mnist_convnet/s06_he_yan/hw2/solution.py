"""Homework 2: MNIST ConvNet. He Yan.

The layers are listed in a table and added one by one to a Sequential model.
"""

import keras
from keras import layers

ARCHITECTURE = [
    # (name, layer class, keyword arguments)
    ("conv1", layers.Conv2D, dict(filters=4, kernel_size=5, padding="same", activation="relu")),
    ("pool1", layers.MaxPooling2D, dict(pool_size=2)),
    ("conv2", layers.Conv2D, dict(filters=8, kernel_size=5, padding="same", activation="relu")),
    ("pool2", layers.MaxPooling2D, dict(pool_size=2)),
    ("flatten", layers.Flatten, dict()),
    ("fc1", layers.Dense, dict(units=512, activation="relu")),
    ("dropout", layers.Dropout, dict(rate=0.5)),
    ("fc2", layers.Dense, dict(units=10, activation="softmax")),
]


def build_model():
    model = keras.Sequential(name="hw2")
    model.add(keras.Input(shape=(28, 28, 1)))
    for name, layer_class, kwargs in ARCHITECTURE:
        model.add(layer_class(name=name, **kwargs))
    return model
