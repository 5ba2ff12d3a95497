"""
Homework: the handwritten digit adder
Student: Zheng Hui

Idea: a sum is only right when both digits are read right, so all the learning
goes into one digit reader (a small ConvNet). The adder applies the same reader to
both images (a Siamese network) and turns the two 10-way distributions into the
distribution of the sum:

    P(a + b = s) = sum_i P(a = i) * P(b = s - i)

which is the convolution of the two distributions. That step has no weights.

Training: the reader learns on the single digits with their labels, because each
labelled digit is worth more than a pair labelled only with its sum. Training
stops after TRAIN_SECONDS at the latest, so train_adder stays inside the 3-minute
budget on a slow machine.
"""

import time

import keras
import numpy as np
from keras import layers, ops

IMAGE_SHAPE = (28, 28, 1)
DIGITS = 10
SUMS = 2 * DIGITS - 1  # 0 .. 18

EPOCHS = 14
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
TRAIN_SECONDS = 100  # hard stop, well inside the 180 s budget

"""
## The model
"""


class DistributionOfSum(layers.Layer):
    """(P(a), P(b)), each (N, 10) -> P(a + b), (N, 19): a 1-D convolution of the two distributions."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # index[s, i] points at P(b = s - i) inside P(b) padded with 9 zeros on both sides.
        s, i = np.meshgrid(np.arange(SUMS), np.arange(DIGITS), indexing="ij")
        self.index = (s - i + DIGITS - 1).astype("int32")

    def call(self, inputs):
        p_a, p_b = inputs
        padded_b = ops.pad(p_b, [[0, 0], [DIGITS - 1, DIGITS - 1]])
        p_b_shifted = ops.take(padded_b, self.index, axis=1)  # (N, 19, 10): [n, s, i] = P(b = s - i)
        return ops.einsum("ni,nsi->ns", p_a, p_b_shifted)

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], SUMS)


def build_reader():
    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            # Shifts of up to 2 pixels while training: 8,000 digits are not many.
            layers.RandomTranslation(0.07, 0.07, fill_mode="constant", seed=7),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(128, activation="relu"),
            layers.Dense(DIGITS, activation="softmax"),
        ],
        name="reader",
    )


def build_adder():
    first = keras.Input(IMAGE_SHAPE, name="first")
    second = keras.Input(IMAGE_SHAPE, name="second")
    reader = build_reader()
    sum_probabilities = DistributionOfSum(name="sum")([reader(first), reader(second)])
    return keras.Model([first, second], sum_probabilities, name="adder")


"""
## Training
"""


class StopAfter(keras.callbacks.Callback):
    """Stops training once `seconds` have passed since the start of fit()."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.started = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.started > self.seconds:
            self.model.stop_training = True


def train_adder(model, images, labels):
    reader = model.get_layer("reader")
    steps = EPOCHS * int(np.ceil(len(images) / BATCH_SIZE))
    reader.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    reader.fit(np.asarray(images, "float32"), np.asarray(labels, "int64"), epochs=EPOCHS,
               batch_size=BATCH_SIZE, shuffle=True, verbose=0, callbacks=[StopAfter(TRAIN_SECONDS)])
    return model  # the reader is inside the adder, so the adder is trained too


if __name__ == "__main__":
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = x_train[:8000, ..., None].astype("float32") / 255
    x_test = x_test[..., None].astype("float32") / 255
    adder = build_adder()
    start = time.time()
    train_adder(adder, x_train, y_train[:8000])
    print(f"train_adder took {time.time() - start:.0f} s")
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(x_test), (2, 2000))
    predicted = adder.predict([x_test[a], x_test[b]], verbose=0).argmax(axis=1)
    print(f"accuracy on 2,000 test pairs: {(predicted == y_test[a] + y_test[b]).mean():.2%}")
