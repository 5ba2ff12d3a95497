"""
Assignment 3: LeNet-5 (LeCun et al., 1998)
Student: Guo Qiang

Two custom layers do what Keras lacks:
- TrainableSubsampling (S2, S4): 2x2 block sums, times one coefficient and plus one
  bias per map, then the squashing function.
- PartialConv2D (C3): one 5x5xk kernel per output map, k = how many S2 maps it
  sees. At call time the 16 small kernels are padded with zero slices into one
  (5, 5, 6, 16) kernel, so C3 is still a single convolution.
The output layer is 10 Euclidean RBF units with fixed random +-1 codes.
"""

import keras
import numpy as np
from keras import layers, ops

# Column j of the paper's table: the S2 maps that C3 map j sees.
C3_CONNECTIONS = [
    [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5],
    [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5],
    [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5],
    [0, 1, 2, 3, 4, 5],
]

# Fixed RBF centres: one random +-1 code of length 84 per digit (seeded, so every
# call of build_lenet5 makes the same codes).
RBF_CODES = np.random.default_rng(1998).choice([-1.0, 1.0], size=(10, 84)).astype("float32")


def squash(a):
    """The paper's sigmoid: f(a) = A tanh(S a) with A = 1.7159, S = 2/3."""
    return 1.7159 * ops.tanh(a * (2.0 / 3.0))


class TrainableSubsampling(layers.Layer):
    """y = squash(coefficient * (sum of a 2x2 block) + bias), one coefficient and bias per map."""

    def build(self, input_shape):
        maps = input_shape[-1]
        self.coefficient = self.add_weight(shape=(maps,), initializer="ones", name="coefficient")
        self.bias = self.add_weight(shape=(maps,), initializer="zeros", name="bias")

    def call(self, x):
        _, height, width, maps = x.shape
        blocks = ops.reshape(x, (-1, height // 2, 2, width // 2, 2, maps))
        return squash(ops.sum(blocks, axis=(2, 4)) * self.coefficient + self.bias)


class PartialConv2D(layers.Layer):
    """A 'valid' convolution in which output map j only sees the input maps in connections[j]."""

    def __init__(self, connections, kernel_size=5, **kwargs):
        super().__init__(**kwargs)
        self.connections = connections
        self.kernel_size = kernel_size

    def build(self, input_shape):
        self.in_maps = input_shape[-1]
        k = self.kernel_size
        self.kernels = []
        for j, inputs in enumerate(self.connections):
            limit = np.sqrt(3.0 / (k * k * len(inputs)))  # LeCun uniform for this map's fan-in
            self.kernels.append(self.add_weight(
                shape=(k, k, len(inputs)), name=f"kernel_{j}",
                initializer=keras.initializers.RandomUniform(-limit, limit)))
        self.bias = self.add_weight(shape=(len(self.connections),), initializer="zeros", name="bias")

    def full_kernel(self):
        k = self.kernel_size
        nothing = ops.zeros((k, k), dtype=self.bias.dtype)
        columns = []
        for kernel, inputs in zip(self.kernels, self.connections):
            slices = [kernel[:, :, inputs.index(i)] if i in inputs else nothing for i in range(self.in_maps)]
            columns.append(ops.stack(slices, axis=-1))
        return ops.stack(columns, axis=-1)  # (k, k, in_maps, out_maps)

    def call(self, x):
        return squash(ops.conv(x, self.full_kernel(), strides=1, padding="valid") + self.bias)


class EuclideanRBF(layers.Layer):
    """y_i = sum_j (x_j - code_i[j])^2 for each digit i; returns softmax(-y)."""

    def __init__(self, codes, **kwargs):
        super().__init__(**kwargs)
        self.codes_value = np.asarray(codes, dtype="float32")

    def build(self, input_shape):
        self.codes = self.add_weight(shape=self.codes_value.shape, trainable=False, name="codes",
                                     initializer=keras.initializers.Constant(self.codes_value))

    def call(self, x):
        distances = ops.sum(ops.square(ops.expand_dims(x, 1) - self.codes), axis=-1)
        return ops.softmax(-distances, axis=-1)


def build_lenet5():
    image = keras.Input(shape=(32, 32, 1))
    x = layers.Conv2D(6, 5, activation=squash, name="c1")(image)
    x = TrainableSubsampling(name="s2")(x)
    x = PartialConv2D(C3_CONNECTIONS, 5, name="c3")(x)
    x = TrainableSubsampling(name="s4")(x)
    x = layers.Conv2D(120, 5, activation=squash, name="c5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, activation=squash, name="f6")(x)
    probabilities = EuclideanRBF(RBF_CODES, name="output")(x)
    return keras.Model(image, probabilities, name="lenet5")


if __name__ == "__main__":
    build_lenet5().summary()
