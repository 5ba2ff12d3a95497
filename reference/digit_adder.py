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
MAX_SHIFT = 0.08 * IMAGE_SHAPE[0]  # pixels: the 8% of the side that RandomTranslation(0.08, 0.08) shifted


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


@keras.saving.register_keras_serializable(package="digit_adder")
class RandomShift(layers.Layer):
    """While training, shifts each image by its own random offset of up to `max_shift` pixels
    down and across (bilinear, zeros shifted in); an identity otherwise.

    keras.layers.RandomTranslation does the same, but on JAX it goes through
    jax.scipy.ndimage.map_coordinates, whose gathers made training 3x slower on CPU (the
    train phase ran out of its CPU time). Here a shift is a weighted sum of the few whole-
    pixel shifts around it, one axis after the other: slices and products on any backend.
    """

    def __init__(self, max_shift, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.max_shift = float(max_shift)
        self.seed = seed
        self.reach = int(np.ceil(self.max_shift))
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _shift_weights(self, batch):
        # weights[n, k]: the share of whole-pixel shift k - reach in image n's shift (a tent).
        shift = keras.random.uniform((batch, 1), -self.max_shift, self.max_shift, seed=self.seed_generator)
        offsets = ops.arange(-self.reach, self.reach + 1, dtype="float32")[None, :]
        return ops.relu(1.0 - ops.abs(offsets - shift))

    def call(self, images, training=False):
        if not training:
            return images
        height, width = images.shape[1], images.shape[2]
        reach, taps = self.reach, 2 * self.reach + 1
        padded = ops.pad(images, ((0, 0), (reach, reach), (reach, reach), (0, 0)))
        rows = self._shift_weights(ops.shape(images)[0])
        padded = sum(rows[:, k, None, None, None] * padded[:, k:k + height] for k in range(taps))
        columns = self._shift_weights(ops.shape(images)[0])
        return sum(columns[:, k, None, None, None] * padded[:, :, k:k + width] for k in range(taps))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_shift": self.max_shift, "seed": self.seed}


def build_digit_reader() -> keras.Model:
    """A small ConvNet that reads one digit: (28, 28, 1) in [0, 1] -> 10 probabilities."""
    image = keras.Input(IMAGE_SHAPE, name="digit")
    # Small random shifts: 8,000 digits are few, and handwriting is never centred exactly.
    x = RandomShift(MAX_SHIFT, seed=SEED, name="shift")(image)
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
    # The readings DigitSum adds up, not fresh calls of the reader: those would read every
    # image twice per step (with other shifts and dropout) and double the training time.
    reading_a, reading_b = model.get_layer("sum").input
    trainer = keras.Model(model.inputs, {"sum": model.output, "digit_a": reading_a, "digit_b": reading_b})
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
