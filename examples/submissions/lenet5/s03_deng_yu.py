"""
Homework 3 -- LeNet-5, Deng Yu

MNIST digits are 28x28, so the input is 28x28 and C1 uses padding="same" to get
the paper's 28x28x6 feature maps (instead of padding the digits to 32x32).

C3 is a custom layer that holds 16 ordinary Conv2D layers, one per C3 map, each
applied to the S2 maps that the connection table gives it.
"""

import keras
import numpy as np
from keras import layers, ops

TABLE = np.array([
    # C3 map: 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
    [1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1],  # S2 map 0
    [1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1],  # S2 map 1
    [1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1],  # S2 map 2
    [0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1],  # S2 map 3
    [0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0, 1],  # S2 map 4
    [0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1],  # S2 map 5
], dtype=bool)

CODES = np.where(np.random.RandomState(5).rand(10, 84) > 0.5, 1.0, -1.0).astype("float32")


def lecun_tanh(x):
    return 1.7159 * ops.tanh(0.6666667 * x)


class Subsample(layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
        self.b = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="b")

    def call(self, x):
        sums = 4.0 * ops.average_pool(x, pool_size=2, strides=2, padding="valid")
        return lecun_tanh(sums * self.w + self.b)


class SparseC3(layers.Layer):
    def __init__(self, table, **kwargs):
        super().__init__(**kwargs)
        self.table = table
        self.convs = [layers.Conv2D(1, 5, name=f"map{j}") for j in range(table.shape[1])]

    def build(self, input_shape):
        for j, conv in enumerate(self.convs):
            conv.build((None, input_shape[1], input_shape[2], int(self.table[:, j].sum())))

    def call(self, x):
        maps = [conv(ops.take(x, np.flatnonzero(self.table[:, j]), axis=-1)) for j, conv in enumerate(self.convs)]
        return lecun_tanh(ops.concatenate(maps, axis=-1))


class RBFOutput(layers.Layer):
    def build(self, input_shape):
        self.centers = self.add_weight(shape=CODES.shape, initializer=keras.initializers.Constant(CODES),
                                       trainable=False, name="centers")

    def call(self, x):
        y = ops.sum((x[:, None, :] - self.centers[None, :, :]) ** 2, axis=-1)
        return ops.softmax(-y)


def build_lenet5():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(6, 5, padding="same", activation=lecun_tanh, name="c1")(inputs)
    x = Subsample(name="s2")(x)
    x = SparseC3(TABLE, name="c3")(x)
    x = Subsample(name="s4")(x)
    x = layers.Conv2D(120, 5, activation=lecun_tanh, name="c5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, activation=lecun_tanh, name="f6")(x)
    outputs = RBFOutput(name="output")(x)
    return keras.Model(inputs, outputs)
