"""
Homework: digit adder. Cao Jing.

Both images go through the same small ConvNet; the two feature vectors are
concatenated and a 19-way softmax reads the sum. train_adder keeps making new
random pairs and training until the pairs of held-out digits are read right
99% of the time.
"""

import keras
import numpy as np
from keras import layers

TARGET_ACCURACY = 0.99
HELD_OUT = 800


def feature_extractor():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(16, 5, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 5, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
    ], name="features")


def build_adder():
    left, right = keras.Input((28, 28, 1), name="left"), keras.Input((28, 28, 1), name="right")
    features = feature_extractor()
    both = layers.Concatenate()([features(left), features(right)])
    hidden = layers.Dense(128, activation="relu")(both)
    return keras.Model([left, right], layers.Dense(19, activation="softmax")(hidden))


def train_adder(model, images, labels):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    order = rng.permutation(len(images))
    held_out, train = order[:HELD_OUT], order[HELD_OUT:]
    va, vb = rng.choice(held_out, (2, 2000))
    accuracy = 0.0
    while accuracy < TARGET_ACCURACY:
        i, j = rng.choice(train, (2, 20000))
        model.fit([images[i], images[j]], labels[i] + labels[j], epochs=1, batch_size=128, verbose=0)
        accuracy = model.evaluate([images[va], images[vb]], labels[va] + labels[vb], verbose=0)[1]
    return model
