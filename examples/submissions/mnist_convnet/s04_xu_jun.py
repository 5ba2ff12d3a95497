"""
Homework 2 -- Xu Jun

The PyTorch version on the slides ends with log_softmax and NLLLoss; CrossEntropyLoss
takes the raw scores, so I left the last layer linear: argmax is the same either way.
"""

import keras
from keras import layers

NUM_CLASSES = 10


def conv_stage(x, filters, index):
    x = layers.Conv2D(filters, 5, padding="same", activation="relu", name=f"conv{index}")(x)
    return layers.MaxPooling2D(2, name=f"pool{index}")(x)


def build_model():
    image = keras.Input(shape=(28, 28, 1), name="image")
    x = conv_stage(image, 4, 1)
    x = conv_stage(x, 8, 2)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="fc1")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    scores = layers.Dense(NUM_CLASSES, name="fc2")(x)  # raw scores (logits)
    return keras.Model(image, scores, name="convnet")
