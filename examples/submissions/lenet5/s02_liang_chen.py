"""LeNet-5 in Keras -- Liang Chen.

The classic Keras version of LeNet-5: tanh convolutions, 2x2 max pooling between
them, and a softmax on top.
"""

import keras
from keras import layers


def build_lenet5():
    return keras.Sequential(
        [
            keras.Input(shape=(32, 32, 1)),
            layers.Conv2D(6, kernel_size=5, activation="tanh", name="c1"),
            layers.MaxPooling2D(pool_size=2, name="s2"),
            layers.Conv2D(16, kernel_size=5, activation="tanh", name="c3"),
            layers.MaxPooling2D(pool_size=2, name="s4"),
            layers.Conv2D(120, kernel_size=5, activation="tanh", name="c5"),
            layers.Flatten(name="flatten"),
            layers.Dense(84, activation="tanh", name="f6"),
            layers.Dense(10, activation="softmax", name="output"),
        ],
        name="lenet5",
    )
