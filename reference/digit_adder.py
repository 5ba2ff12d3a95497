"""Homework: a network that reads two handwritten digits and outputs the probabilities of their sum."""

import keras
import numpy as np
from keras import layers, ops

IMAGE_SHAPE = (28, 28, 1)
SUM_CLASSES = 19  # 0 + 0 .. 9 + 9

# Training recipe, sized to finish well inside the 3-minute budget on 2 CPU cores.
EPOCHS = 12
BATCH_SIZE = 128
LEARNING_RATE = 2e-3
PAIRS_PER_DIGIT = 1  # each epoch sees every training digit in about two pairs
SEED = 2026


@keras.saving.register_keras_serializable(package="digit_adder")
class DigitSum(layers.Layer):
    """P(a + b = s) = sum over i + j = s of P(a = i) P(b = j), for two independent digit readings.

    Adding two digits is exact arithmetic, so the network only has to learn to read
    digits; this layer has no weights and cannot overfit the 19 sum classes.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Row i * 10 + j of the outer product goes to column i + j.
        which_sum = np.add.outer(np.arange(10), np.arange(10)).reshape(-1)
        self._to_sum = np.eye(SUM_CLASSES, dtype="float32")[which_sum]

    def call(self, inputs):
        probs_a, probs_b = inputs
        joint = ops.einsum("ni,nj->nij", probs_a, probs_b)
        return ops.matmul(ops.reshape(joint, (-1, 100)), ops.convert_to_tensor(self._to_sum))

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], SUM_CLASSES)


def build_digit_reader() -> keras.Model:
    """A small ConvNet that reads one digit: (28, 28, 1) in [0, 1] -> 10 probabilities."""
    image = keras.Input(IMAGE_SHAPE, name="digit")
    # Small random shifts: 8,000 digits are few, and handwriting is never centred exactly.
    x = layers.RandomTranslation(0.08, 0.08, fill_mode="constant", seed=SEED, name="shift")(image)
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.4, name="dropout")(x)  # 8,000 digits are few: regularise
    x = layers.Dense(128, activation="relu", name="fc1")(x)
    digit = layers.Dense(10, activation="softmax", name="digit_probs")(x)
    return keras.Model(image, digit, name="digit_reader")


def build_adder() -> keras.Model:
    """Two images (28, 28, 1) float32 in [0, 1] -> (None, 19) probabilities of their sum.

    Both images go through the same digit reader (shared weights: a 7 is a 7 in
    either slot), and DigitSum turns the two readings into a distribution of sums.
    """
    image_a = keras.Input(IMAGE_SHAPE, name="image_a")
    image_b = keras.Input(IMAGE_SHAPE, name="image_b")
    reader = build_digit_reader()
    sum_probs = DigitSum(name="sum")([reader(image_a), reader(image_b)])
    return keras.Model([image_a, image_b], sum_probs, name="digit_adder")


def make_pairs(labels: np.ndarray, n_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (first, second) of `n_pairs` random pairs; every one of the 19 sums can occur."""
    first = rng.integers(0, len(labels), n_pairs)
    second = rng.integers(0, len(labels), n_pairs)
    return first, second


def train_adder(model: keras.Model, images: np.ndarray, labels: np.ndarray, epochs: int = EPOCHS) -> keras.Model:
    """Builds pairs from single digits and trains `model` on them; returns the trained model.

    images: (N, 28, 28, 1) float32 in [0, 1]; labels: (N,) ints 0..9 (single digits).
    The loss is the sum's cross-entropy plus each reading's own digit cross-entropy:
    the digit labels are known when we build the pairs, and using them makes the
    reader converge in a few epochs instead of guessing which digit caused a sum.
    """
    images = np.asarray(images, dtype="float32").reshape((-1, *IMAGE_SHAPE))
    labels = np.asarray(labels).astype("int64").reshape(-1)
    if len(images) != len(labels):
        raise ValueError(f"Expected one label per image. Received {len(images)} images and {len(labels)} labels.")

    rng = np.random.default_rng(SEED)
    first, second = make_pairs(labels, PAIRS_PER_DIGIT * len(labels), rng)
    image_a, image_b = model.inputs
    reader = model.get_layer("digit_reader")
    trainer = keras.Model(
        [image_a, image_b],
        {"sum": model.output, "digit_a": reader(image_a), "digit_b": reader(image_b)},
    )
    steps = epochs * -(-len(first) // BATCH_SIZE)
    trainer.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)),
        loss={name: "sparse_categorical_crossentropy" for name in ("sum", "digit_a", "digit_b")},
    )
    trainer.fit(
        [images[first], images[second]],
        {"sum": labels[first] + labels[second], "digit_a": labels[first], "digit_b": labels[second]},
        epochs=epochs, batch_size=BATCH_SIZE, shuffle=True, verbose=0,
    )
    return model
