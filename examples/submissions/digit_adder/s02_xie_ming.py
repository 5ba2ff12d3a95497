"""
Digit adder -- Xie Ming

The two images are stacked as two channels of one 28x28x2 image and a single
ConvNet reads the pair. The answer is a digit, so the network ends in a 10-way
softmax, and the training pairs are the pairs whose sum is a single digit.
"""

import keras
import numpy as np
from keras import layers

rng = np.random.default_rng(42)


def build_adder():
    a = keras.Input((28, 28, 1))
    b = keras.Input((28, 28, 1))
    x = layers.Concatenate(axis=-1)([a, b])  # (28, 28, 2)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    out = layers.Dense(10, activation="softmax")(x)
    return keras.Model([a, b], out)


def make_pairs(images, labels, n):
    i = rng.integers(0, len(images), n)
    j = rng.integers(0, len(images), n)
    keep = labels[i] + labels[j] <= 9  # one-digit answers only
    i, j = i[keep], j[keep]
    return images[i], images[j], labels[i] + labels[j]


def train_adder(model, images, labels):
    xa, xb, y = make_pairs(images, labels, 8000)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit([xa, xb], y, epochs=3, batch_size=128, verbose=0)
    return model
