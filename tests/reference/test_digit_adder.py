"""Tests for the digit adder reference: its RandomShift augmentation against NumPy shifts, and saving."""

import keras
import numpy as np
import pytest
from keras import ops

from reference import digit_adder

IMAGES = np.random.default_rng(3).random((4, 28, 28, 1)).astype("float32")


def whole_pixel_weights(offset: int, reach: int):
    """RandomShift._shift_weights replaced by a fixed whole-pixel shift of `offset` for every image."""
    weights = np.zeros((1, 2 * reach + 1), dtype="float32")
    weights[0, offset + reach] = 1.0
    return lambda batch: ops.convert_to_tensor(np.repeat(weights, batch, axis=0))


def test_random_shift_is_an_identity_outside_training():
    layer = digit_adder.RandomShift(digit_adder.MAX_SHIFT, seed=1)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(IMAGES)), IMAGES)


@pytest.mark.parametrize("offset", [-2, -1, 1, 3])
def test_random_shift_by_whole_pixels_matches_numpy(offset):
    layer = digit_adder.RandomShift(3, seed=1)
    layer._shift_weights = whole_pixel_weights(offset, layer.reach)
    # output[i] = input[i + offset] on both axes, zeros shifted in.
    padded = np.pad(IMAGES, ((0, 0), (3, 3), (3, 3), (0, 0)))
    expected = padded[:, 3 + offset:3 + offset + 28, 3 + offset:3 + offset + 28]
    np.testing.assert_allclose(ops.convert_to_numpy(layer(IMAGES, training=True)), expected, atol=1e-6)


def test_random_shift_moves_each_image_by_its_own_subpixel_offset():
    layer = digit_adder.RandomShift(digit_adder.MAX_SHIFT, seed=1)
    shifted = ops.convert_to_numpy(layer(np.repeat(IMAGES[:1], 8, axis=0), training=True))
    assert shifted.shape == (8, 28, 28, 1)
    assert len({round(float(image.sum()), 3) for image in shifted}) > 1, "every image got the same shift"
    # A tent's weights sum to 1: a shift inside the picture keeps its ink, up to what leaves the border.
    assert np.all(shifted.sum(axis=(1, 2, 3)) <= IMAGES[0].sum() + 1e-3)


def test_adder_saves_and_loads_with_its_shift_layer(tmp_path):
    model = digit_adder.build_adder()
    path = tmp_path / "adder.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    pair = [IMAGES, IMAGES[::-1]]
    np.testing.assert_allclose(loaded.predict(pair, verbose=0), model.predict(pair, verbose=0), atol=1e-6)
