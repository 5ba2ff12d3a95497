"""Digit adder (Peng Yue): a shared digit ConvNet, concatenated features, Dense 19 softmax."""

import keras
import numpy as np
from keras import layers

N_PAIRS = 16000


def digit_net():
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(64, activation="relu")(x), name="digit_net")


def build_adder():
    image_a = keras.Input((28, 28, 1))
    image_b = keras.Input((28, 28, 1))
    net = digit_net()
    merged = layers.concatenate([net(image_a), net(image_b)])
    return keras.Model([image_a, image_b], layers.Dense(19, activation="softmax")(merged))


def train_adder(model, images, labels):
    idx_a = np.random.randint(0, len(images), N_PAIRS)
    idx_b = np.random.randint(0, len(images), N_PAIRS)
    sums = labels[idx_a] + labels[idx_b]
    y = keras.utils.to_categorical(sums, 19)  # one-hot targets
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit([images[idx_a], images[idx_b]], y, epochs=10, batch_size=128, validation_split=0.1)
    return model
