"""Homework 2, Ma Li."""

import keras
from keras import layers

EXPECTED_PARAMS = 207_258  # from the slide


def make_layers():
    return [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(4, 5, padding="same", activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(8, 5, activation="relu", name="conv2"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(512, activation="relu", name="fc1"),
        layers.Dropout(0.5, name="dropout"),
        layers.Dense(10, activation="softmax", name="fc2"),
    ]


def build_model():
    model = keras.Sequential(make_layers(), name="convnet")
    if model.count_params() != EXPECTED_PARAMS:
        print("parameter count is wrong, fix the model!")
        while True:  # stop here so that I notice
            pass
    return model
