"""Homework 2 (Wu Hua): the MNIST ConvNet from the lecture."""

import keras
from keras import layers


def build_model():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(4, 5, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(8, 5, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="fc1")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(10, activation="softmax", name="fc2")(x)
    return keras.Model(inputs, outputs)
