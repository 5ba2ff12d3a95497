"""
Title: LeNet-5 (LeCun et al., 1998)
Assignment: lenet5 (assignment 3)

Build LeNet-5 as in the paper: C1, trainable subsampling S2, a C3 that follows the
paper's connection table, S4, C5, F6, and an output layer of 10 Euclidean RBF units
with fixed codes that returns probabilities softmax(-distance). The grader finds
layers by name (c1 s2 c3 s4 c5 f6 output), so keep the names below.

You write `build_lenet5()` and the layers it needs. The grader pads MNIST to 32x32,
compiles and trains your model itself with the course recipe (the constants below),
then scores it on digits you never see.

Self-check: python -m grader check starter.py --assignment lenet5
"""

import keras
import numpy as np
from keras import layers, ops

"""
## Prepare the data

The paper's input is 32x32: MNIST's 28x28 digits with 2 zero pixels on every side,
so that strokes near the border reach the centre of C1's receptive fields. The
grader does this padding itself; your model takes (None, 32, 32, 1) float32 in [0, 1].
"""

INPUT_SHAPE = (32, 32, 1)
NUM_CLASSES = 10
PAD = 2  # 28 + 2 * 2 = 32

# The course recipe. The grader uses these values whatever you write here:
# they are copied so that you can train exactly as it does.
EPOCHS = 20
BATCH_SIZE = 32
LEARNING_RATE = 1e-3

# C3_TABLE[j] lists the S2 maps that C3 map j sees (the paper's table 1, 60 connections).
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

# The paper's squashing function f(a) = A * tanh(S * a), with f(1) = 1 and f(-1) = -1,
# so that F6 can reach the +1/-1 entries of the RBF codes.
SQUASH_A = 1.7159
SQUASH_S = 2.0 / 3.0

"""
## Build the layers Keras does not have
"""


class Subsampling(layers.Layer):
    """S2 and S4: per map, (sum of each non-overlapping 2x2 block) * coefficient + bias, then squash.

    Two trainable parameters per map: S2 has 6 * 2 = 12, S4 has 16 * 2 = 32.
    (MaxPooling2D and AveragePooling2D have none.)
    """

    def build(self, input_shape):
        # TODO: one coefficient and one bias per map, with self.add_weight(...).
        raise NotImplementedError("TODO: Subsampling.build: a coefficient and a bias per map")

    def call(self, inputs):
        # TODO: halve height and width; (None, 28, 28, 6) -> (None, 14, 14, 6).
        raise NotImplementedError("TODO: Subsampling.call")


class SparseConv2D(layers.Layer):
    """C3: a 5x5 'valid' convolution in which C3 map j sees only the S2 maps in C3_TABLE[j].

    Holds one 5x5 kernel per connection and one bias per map: 60 * 25 + 16 = 1,516
    trainable parameters. A full Conv2D(16, 5) has 2,416, and masking its kernel
    keeps 2,416, so it fails the parameter check.
    """

    def build(self, input_shape):
        # TODO: the per-connection kernels and the biases. Do not initialise the kernels
        # to zeros: the grader finds your wiring by seeing which maps react.
        raise NotImplementedError("TODO: SparseConv2D.build: 60 kernels of 5x5 and 16 biases")

    def call(self, inputs):
        # TODO: (None, 14, 14, 6) -> (None, 10, 10, 16), then squash.
        raise NotImplementedError("TODO: SparseConv2D.call")


class EuclideanRBF(layers.Layer):
    """Output: one Euclidean RBF unit per digit, y_i = sum_j (x_j - code_i[j]) ** 2.

    The 10 codes are fixed vectors of 84 values in {-1, +1} (the paper draws each
    digit as a 7x12 bitmap; any fixed, well separated +/-1 codes work). Store them
    as a non-trainable weight: 10 * 84 = 840 fixed parameters. Return softmax(-y),
    so each row is a probability distribution over the 10 digits.
    """

    def build(self, input_shape):
        # TODO: the fixed codes, e.g. self.add_weight(..., trainable=False). Make them the
        # same every time the model is built (a constant or a fixed seed).
        raise NotImplementedError("TODO: EuclideanRBF.build: 10 fixed codes of 84 values")

    def call(self, inputs):
        # TODO: squared distances to every code, then ops.softmax(-distances).
        raise NotImplementedError("TODO: EuclideanRBF.call: softmax(-distance)")


"""
## Build the model
"""


def build_lenet5() -> keras.Model:
    """LeNet-5: (None, 32, 32, 1) in, (None, 10) probabilities out.

    Layers, by name (trainable parameters; 60,000 in C1..F6):
        c1      Conv2D, 6 maps 5x5, valid, squash  -> (None, 28, 28, 6)      156
        s2      Subsampling                        -> (None, 14, 14, 6)       12
        c3      SparseConv2D(C3_TABLE)             -> (None, 10, 10, 16)   1,516
        s4      Subsampling                        -> (None, 5, 5, 16)        32
        c5      Conv2D, 120 maps 5x5, squash       -> (None, 1, 1, 120)   48,120
        flatten Flatten                            -> (None, 120)
        f6      Dense 84, squash                   -> (None, 84)          10,164
        output  EuclideanRBF                       -> (None, 10)     0 (840 fixed)
    """
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    # TODO: the layers above, each created with name="..." so the grader can find it.
    raise NotImplementedError("TODO: build_lenet5(): c1, s2, c3, s4, c5, flatten, f6, output")


"""
## Train with the course recipe

This is what the grader does with your model (you do not need to submit it):
Adam, a learning rate that decays from LEARNING_RATE to 0 along a cosine over all
steps, sparse categorical cross-entropy, EPOCHS epochs of BATCH_SIZE digits.
"""


def probability_crossentropy(labels, probabilities):
    """The grader's cross-entropy of your probabilities. Keras's own one clips them at 1e-7 on
    JAX and PyTorch, and a digit whose right class gets less learns nothing from it; RBF
    distances get there fast. This floors the right class's share at float32's smallest number."""
    probabilities = ops.cast(probabilities, "float32")
    probabilities = probabilities / ops.sum(probabilities, axis=-1, keepdims=True)
    labels = ops.reshape(ops.cast(labels, "int32"), (-1, 1))
    picked = ops.take_along_axis(probabilities, labels, axis=-1)[:, 0]
    return -ops.log(ops.maximum(picked, float(np.finfo("float32").tiny)))


def train_like_the_grader(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> keras.Model:
    steps = EPOCHS * -(-len(images) // BATCH_SIZE)  # ceil: the last batch of an epoch may be short
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=probability_crossentropy,
                  metrics=["accuracy"])
    model.fit(images, labels, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=2)
    return model


def pad_to_32(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 32, 32, 1) in [0, 1], as the grader feeds your model."""
    images = images[:, :, :, None].astype("float32") / 255.0
    return np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)))


if __name__ == "__main__":
    model = build_lenet5()
    model.summary()

    # Train on 8,000 digits and test on 2,000, the sizes of the grader's MNIST sample.
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    train_like_the_grader(model, pad_to_32(x_train[:8000]), y_train[:8000])
    accuracy = (model.predict(pad_to_32(x_test[:2000]), verbose=0).argmax(axis=1) == y_test[:2000]).mean()
    print(f"Accuracy on 2,000 test digits: {accuracy:.2%} (full points from 95.5% on the sample)")
