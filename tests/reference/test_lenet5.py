"""Tests for the LeNet-5 reference: parameter counts, C3's sparse wiring, the RBF output, saving and training."""

from collections import Counter

import keras
import numpy as np
import pytest

from reference import lenet5

# COURSE.md section 3, copied by hand: row = S2 map, column = C3 map, X = connected.
C3_X_TABLE = (
    "X   XXX  XXXX XX",
    "XX   XXX  XXXX X",
    "XXX   XXX  X XXX",
    " XXX  XXXX  X XX",
    "  XXX  XXXX XX X",
    "   XXX  XXXX XXX",
)

LAYERS = [
    # name, trainable parameters, non-trainable parameters, output shape
    ("c1", 156, 0, (None, 28, 28, 6)),
    ("s2", 12, 0, (None, 14, 14, 6)),
    ("c3", 1_516, 0, (None, 10, 10, 16)),
    ("s4", 32, 0, (None, 5, 5, 16)),
    ("c5", 48_120, 0, (None, 1, 1, 120)),
    ("f6", 10_164, 0, (None, 84)),
    ("output", 0, 840, (None, 10)),
]


def count(weights) -> int:
    return sum(int(np.prod(weight.shape)) for weight in weights)


def columns_of(x_table) -> list[set[int]]:
    return [{row for row, line in enumerate(x_table) if line[column] == "X"} for column in range(16)]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(5)
    return lenet5.build_lenet5()


@pytest.mark.parametrize("name, trainable, non_trainable, shape", LAYERS)
def test_layer(model, name, trainable, non_trainable, shape):
    layer = model.get_layer(name)
    assert count(layer.trainable_weights) == trainable
    assert count(layer.non_trainable_weights) == non_trainable
    assert tuple(layer.output.shape) == shape


def test_c1_to_f6_hold_60000_trainable_parameters(model):
    assert sum(trainable for _, trainable, _, _ in LAYERS) == 60_000
    assert count(model.trainable_weights) == 60_000
    assert count(model.non_trainable_weights) == 840


def test_c3_holds_one_kernel_per_connection(model):
    kernel, bias = model.get_layer("c3").get_weights()
    assert kernel.shape == (5, 5, 60)
    assert bias.shape == (16,)


def test_c3_table_is_the_papers():
    assert [set(inputs) for inputs in lenet5.C3_TABLE] == columns_of(C3_X_TABLE)
    assert all(list(inputs) == sorted(inputs) for inputs in lenet5.C3_TABLE)


def test_c3_connection_counts():
    assert Counter(len(inputs) for inputs in lenet5.C3_TABLE) == {3: 6, 4: 9, 6: 1}
    assert sum(len(inputs) for inputs in lenet5.C3_TABLE) == 60


@pytest.mark.parametrize("channel", range(6))
def test_c3_map_reacts_only_to_its_s2_maps(model, channel):
    inputs = keras.Input(shape=(14, 14, 6))
    c3 = keras.Model(inputs, model.get_layer("c3")(inputs))
    rng = np.random.default_rng(channel)
    base = rng.standard_normal((2, 14, 14, 6)).astype("float32")
    perturbed = base.copy()
    perturbed[..., channel] = rng.standard_normal((2, 14, 14)).astype("float32")

    change = np.abs(c3.predict(perturbed, verbose=0) - c3.predict(base, verbose=0)).max(axis=(0, 1, 2))
    changed = {int(j) for j in np.flatnonzero(change > 1e-6)}
    expected = {j for j, inputs in enumerate(columns_of(C3_X_TABLE)) if channel in inputs}
    assert changed == expected


def test_sparse_conv_matches_numpy():
    # Connections are counted output map by output map, inputs in ascending order.
    table = ((0, 2), (1,), (0, 1, 2))
    layer = lenet5.SparseConv2D(table, 3)
    rng = np.random.default_rng(7)
    images = rng.standard_normal((2, 6, 7, 3)).astype("float32")
    layer.build(images.shape)
    kernel = rng.standard_normal((3, 3, 6)).astype("float32")
    bias = np.array([0.5, -1.0, 2.0], dtype="float32")
    layer.set_weights([kernel, bias])

    expected = np.zeros((2, 4, 5, 3))
    connection = 0
    for j, inputs in enumerate(table):
        for i in inputs:
            for u in range(3):
                for v in range(3):
                    expected[..., j] += kernel[u, v, connection] * images[:, u:u + 4, v:v + 5, i]
            connection += 1
        expected[..., j] += bias[j]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(images)), expected, rtol=1e-5, atol=1e-5)


def test_subsampling_matches_numpy():
    layer = lenet5.Subsampling()
    rng = np.random.default_rng(8)
    images = rng.standard_normal((2, 4, 6, 3)).astype("float32")
    layer.build(images.shape)
    coefficient = np.array([1.0, -0.5, 2.0], dtype="float32")
    bias = np.array([0.0, 1.0, -3.0], dtype="float32")
    layer.set_weights([coefficient, bias])

    block_sums = images.reshape(2, 2, 2, 3, 2, 3).sum(axis=(2, 4))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(images)), block_sums * coefficient + bias, rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("a, expected", [(0.0, 0.0), (1.0, 1.0), (-1.0, -1.0), (50.0, 1.7159), (-50.0, -1.7159)])
def test_squash(a, expected):
    np.testing.assert_allclose(keras.ops.convert_to_numpy(lenet5.squash(np.float32(a))), expected, atol=1e-4)


def test_digit_codes_are_ten_distinct_bitmaps():
    codes = lenet5.DIGIT_CODES
    assert codes.shape == (10, 84)
    assert set(np.unique(codes)) == {-1.0, 1.0}
    assert len({row.tobytes() for row in codes}) == 10


def test_rbf_output_is_softmax_of_minus_squared_distances(model):
    inputs = keras.Input(shape=(84,))
    rbf = keras.Model(inputs, model.get_layer("output")(inputs))
    features = np.random.default_rng(9).uniform(-1.7, 1.7, size=(4, 84))
    centers = lenet5.DIGIT_CODES.astype("float64")

    distances = ((features[:, None, :] - centers[None, :, :]) ** 2).sum(axis=-1)
    expected = np.exp(distances.min(axis=1, keepdims=True) - distances)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(rbf.predict(features.astype("float32"), verbose=0), expected, atol=1e-6)
    np.testing.assert_array_equal(model.get_layer("output").get_weights()[0], lenet5.DIGIT_CODES)


def test_rbf_adds_the_papers_rubbish_class_term():
    rubbish_distance = 4.0
    layer = lenet5.EuclideanRBF(lenet5.DIGIT_CODES, rubbish_distance=rubbish_distance)
    rng = np.random.default_rng(14)
    # Near three codes, so that the distances straddle j and the term is neither ~0 nor linear.
    features = 0.8 * lenet5.DIGIT_CODES[[1, 4, 7]] + 0.1 * rng.standard_normal((3, 84))
    layer(features.astype("float32"))

    distances = ((features[:, None, :] - lenet5.DIGIT_CODES[None, :, :]) ** 2).sum(axis=-1)
    total = np.exp(-distances).sum(axis=1)
    expected = np.mean(np.log(np.exp(-rubbish_distance) + total) - np.log(total))
    assert len(layer.losses) == 1
    assert 0.05 < expected < 5.0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.losses[0]), expected, rtol=1e-4)


def test_pad_to_32_centers_the_digit():
    digits = np.random.default_rng(10).integers(1, 256, size=(3, 28, 28, 1)).astype("uint8")
    padded = lenet5.pad_to_32(digits)
    assert padded.shape == (3, 32, 32, 1)
    assert padded.dtype == digits.dtype
    np.testing.assert_array_equal(padded[:, 2:30, 2:30], digits)
    border = np.ones((32, 32), dtype=bool)
    border[2:30, 2:30] = False
    assert not padded[:, border].any()


@pytest.mark.parametrize("shape", [(3, 28, 28), (3, 32, 32, 1), (28, 28, 1)])
def test_pad_to_32_rejects_other_shapes(shape):
    with pytest.raises(ValueError, match=r"Expected images of shape \(N, 28, 28, 1\)"):
        lenet5.pad_to_32(np.zeros(shape))


def test_outputs_are_probabilities(model):
    images = lenet5.pad_to_32(np.random.default_rng(11).random((8, 28, 28, 1), dtype="float32"))
    probabilities = model.predict(images, verbose=0)
    assert probabilities.shape == (8, 10)
    assert np.all(probabilities >= 0.0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_save_and_load_round_trip(model, tmp_path):
    path = tmp_path / "lenet5.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    images = np.random.default_rng(12).random((4, 32, 32, 1), dtype="float32")

    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
    assert isinstance(loaded.get_layer("c3"), lenet5.SparseConv2D)
    assert loaded.get_layer("c3").table == lenet5.C3_TABLE


def test_one_training_epoch_updates_c3_and_keeps_rbf_centers():
    keras.utils.set_random_seed(13)
    rng = np.random.default_rng(13)
    images = rng.random((64, 32, 32, 1), dtype="float32")
    labels = rng.integers(0, 10, size=64)
    model = lenet5.compile_lenet5(lenet5.build_lenet5(), train_size=64)
    c3_before = [weight.copy() for weight in model.get_layer("c3").get_weights()]

    history = model.fit(images, labels, epochs=1, batch_size=lenet5.BATCH_SIZE, verbose=0)

    assert np.isfinite(history.history["loss"][0])
    for before, after in zip(c3_before, model.get_layer("c3").get_weights()):
        assert np.abs(after - before).max() > 0.0
    np.testing.assert_array_equal(model.get_layer("output").get_weights()[0], lenet5.DIGIT_CODES)
