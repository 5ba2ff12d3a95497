"""
Assignment 3: LeNet-5 -- Lin Na

C3's connection table is copied from the text version of the slides, row by row:
row i lists the C3 maps that S2 map i feeds. C3 keeps one 5x5 kernel per
connection (60 of them) and runs one small convolution per C3 map.
"""

import keras
import numpy as np
from keras import layers, ops

# S2 map -> C3 maps (from the slides' text copy).
S2_TO_C3 = {
    0: [0, 4, 5, 6, 9, 10, 11, 12, 14, 15],
    1: [0, 1, 5, 6, 7, 10, 11, 12, 13, 15],
    2: [0, 1, 2, 6, 7, 8, 11, 13, 14, 15],
    3: [0, 1, 2, 5, 6, 7, 8, 11, 13, 14],
    4: [1, 2, 3, 6, 7, 8, 9, 11, 12, 14],
    5: [2, 3, 4, 7, 8, 9, 10, 12, 13, 14],
}
C3_INPUTS = [[s2 for s2, c3_maps in S2_TO_C3.items() if j in c3_maps] for j in range(16)]
CODES = np.sign(np.random.default_rng(84).standard_normal((10, 84))).astype("float32")


def f(a):
    return 1.7159 * ops.tanh(2.0 * a / 3.0)


class Pool2x2(layers.Layer):
    """Trainable subsampling: coefficient * (sum of 2x2) + bias, per map."""

    def build(self, input_shape):
        n = input_shape[-1]
        self.coef = self.add_weight(shape=(1, 1, 1, n), initializer=keras.initializers.Constant(0.25))
        self.bias = self.add_weight(shape=(1, 1, 1, n), initializer="zeros")

    def call(self, x):
        summed = x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]
        return f(self.coef * summed + self.bias)


class TableConv(layers.Layer):
    def build(self, input_shape):
        self.w = [self.add_weight(shape=(5, 5, len(ins), 1), initializer="glorot_uniform", name=f"w{j}")
                  for j, ins in enumerate(C3_INPUTS)]
        self.b = self.add_weight(shape=(len(C3_INPUTS),), initializer="zeros", name="b")

    def call(self, x):
        outs = [ops.conv(ops.take(x, ins, axis=3), w, padding="valid") for ins, w in zip(C3_INPUTS, self.w)]
        return f(ops.concatenate(outs, axis=3) + self.b)


class RBF(layers.Layer):
    def build(self, input_shape):
        self.c = self.add_weight(shape=(10, 84), initializer=keras.initializers.Constant(CODES), trainable=False)

    def call(self, x):
        d = ops.sum(ops.square(x[:, None] - self.c[None]), axis=2)
        return ops.softmax(-d)


def build_lenet5():
    inp = keras.Input((32, 32, 1))
    h = layers.Conv2D(6, 5, activation=f, name="c1")(inp)
    h = Pool2x2(name="s2")(h)
    h = TableConv(name="c3")(h)
    h = Pool2x2(name="s4")(h)
    h = layers.Conv2D(120, 5, activation=f, name="c5")(h)
    h = layers.Flatten(name="flatten")(h)
    h = layers.Dense(84, activation=f, name="f6")(h)
    return keras.Model(inp, RBF(name="output")(h))
