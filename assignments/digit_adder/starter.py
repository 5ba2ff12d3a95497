"""
Title: Homework: the handwritten digit adder
Assignment: digit_adder (assignment 5)

"Build a neural network and a matching data set that takes any two handwritten digit
images and outputs one number: the sum of the two digits."

You write two functions: `build_adder()`, a model from two 28x28 images to their sum,
either as the 19 probabilities of the sums 0..18 or as one number, the sum itself
(both are fine; see the README), and `train_adder(model, images, labels)`, which
builds its own pairs from single MNIST digits and trains the model. The grader runs
your `train_adder`, then scores the model on pairs of digits you never see.

Self-check: python -m grader check starter.py --assignment digit_adder
"""

import time

import keras
import numpy as np
from keras import layers, ops

"""
## Prepare the data

`train_adder` receives single digits: images (N, 28, 28, 1) float32 in [0, 1] and
labels (N,) ints 0..9. Pairing them up is part of the task: the sum of a pair
is labels[i] + labels[j], and every sum from 0 + 0 to 9 + 9 should occur.
"""

IMAGE_SHAPE = (28, 28, 1)
SUM_CLASSES = 19  # 0 + 0 .. 9 + 9

# The time budget: train_adder must finish within 3 minutes on 2 CPU cores for
# 8,000 digits. The grader stops the whole training phase after 240 s.
TRAIN_BUDGET_SECONDS = 180

# A starting point; tune them, staying inside the budget.
EPOCHS = 10
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
SEED = 0  # the same pairs on every run make your experiments comparable

"""
## Build the model
"""


def build_adder() -> keras.Model:
    """Two images, each (None, 28, 28, 1) float32 in [0, 1] -> their sum, in one of two forms.

    (None, 19): the probabilities of the sums 0..18; the grader takes the most probable.
    (None, 1) or (None,): the sum itself; the grader rounds it to the nearest of 0..18.
    The grader calls model.predict([images_a, images_b]), so the model has exactly two
    inputs, in that order.
    """
    image_a = keras.Input(IMAGE_SHAPE, name="image_a")
    image_b = keras.Input(IMAGE_SHAPE, name="image_b")
    # TODO: read both images (should the two readers share weights?), combine the
    # readings, and end in Dense(SUM_CLASSES, activation="softmax") (probabilities of
    # the 19 sums) or in Dense(1) with no activation (the sum, trained with squared error).
    raise NotImplementedError("TODO: build_adder(): two (28, 28, 1) inputs -> (None, 19) probabilities or the sum")


def predicted_sums(outputs: np.ndarray) -> np.ndarray:
    """What the grader reads from model.predict's outputs: the most probable of 19 sums, or one
    number per pair rounded to the nearest sum (x.5 up) and clipped to 0..18."""
    if outputs.ndim == 2 and outputs.shape[1] == SUM_CLASSES:
        return outputs.argmax(axis=1)
    return np.clip(np.floor(outputs.reshape(len(outputs)) + 0.5), 0, SUM_CLASSES - 1).astype("int64")


"""
## Train the model
"""


def train_adder(model: keras.Model, images: np.ndarray, labels: np.ndarray, epochs: int = EPOCHS) -> keras.Model:
    """Builds pairs from single digits, trains `model` on them, and returns the trained model.

    Args:
        model: what your build_adder() returned.
        images: (N, 28, 28, 1) float32 in [0, 1], single digits.
        labels: (N,) ints 0..9, one per image.
        epochs: passes over your pairs.

    Returns:
        `model`, trained. The grader saves its weights and loads them into a fresh
        build_adder(), so return this model (or one with exactly its layers).
    """
    rng = np.random.default_rng(SEED)
    # TODO: draw index pairs (first, second) with rng; the targets are
    # labels[first] + labels[second]. Then compile (sparse_categorical_crossentropy
    # for 19 probabilities, mean_squared_error for one number) and fit. You also know each
    # digit's own label: a model with extra outputs that share layers with `model`
    # can learn from those too.
    raise NotImplementedError("TODO: train_adder(model, images, labels): build pairs, compile, fit")


if __name__ == "__main__":
    model = build_adder()
    model.summary()

    # Time train_adder on 8,000 digits, the size of the grader's MNIST sample.
    # On a machine with more cores, `taskset -c 0,1 python starter.py` gives you 2.
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = x_train[:8000, :, :, None].astype("float32") / 255.0
    x_test = x_test[:, :, :, None].astype("float32") / 255.0
    started = time.perf_counter()
    train_adder(model, x_train, y_train[:8000].astype("int64"))
    seconds = time.perf_counter() - started
    print(f"train_adder took {seconds:.0f} s (budget {TRAIN_BUDGET_SECONDS} s on 2 CPU cores)")

    # Score 2,000 pairs of test digits, as the grader does with its hidden digits.
    first, second = np.random.default_rng(1).integers(0, len(x_test), (2, 2000))
    predicted = predicted_sums(model.predict([x_test[first], x_test[second]], verbose=0))
    accuracy = (predicted == y_test[first] + y_test[second]).mean()
    print(f"Accuracy on 2,000 test pairs: {accuracy:.2%} (full points from 93% on the sample)")
