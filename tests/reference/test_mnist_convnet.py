"""Tests for the lecture's MNIST ConvNet and the course training recipe."""

import keras
import numpy as np
import pytest

from reference import mnist_convnet

# COURSE.md section 2.
TOTAL_PARAMS = 207_258
LAYERS = [
    # name, parameters, output shape
    ("conv1", 104, (None, 28, 28, 4)),
    ("pool1", 0, (None, 14, 14, 4)),
    ("conv2", 808, (None, 14, 14, 8)),
    ("pool2", 0, (None, 7, 7, 8)),
    ("flatten", 0, (None, 392)),
    ("fc1", 201_216, (None, 512)),
    ("dropout", 0, (None, 512)),
    ("fc2", 5_130, (None, 10)),
]


@pytest.fixture(scope="module")
def model():
    return mnist_convnet.build_model()


def test_total_parameters(model):
    assert model.count_params() == TOTAL_PARAMS
    assert sum(params for _, params, _ in LAYERS) == TOTAL_PARAMS


@pytest.mark.parametrize("name, params, shape", LAYERS)
def test_layer(model, name, params, shape):
    layer = model.get_layer(name)
    assert layer.count_params() == params
    assert tuple(layer.output.shape) == shape


def test_layers_are_in_lecture_order(model):
    names = [layer.name for layer in model.layers[1:]]
    assert names == [name for name, _, _ in LAYERS]


def test_outputs_are_probabilities(model):
    images = np.random.default_rng(0).random((8, 28, 28, 1), dtype="float32")
    probabilities = model.predict(images, verbose=0)
    assert probabilities.shape == (8, 10)
    assert np.all(probabilities >= 0.0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_compile_model_applies_the_recipe():
    model = mnist_convnet.compile_model(mnist_convnet.build_model(), train_size=8000)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    # 15 epochs of ceil(8000 / 64) = 125 steps: the rate starts at the recipe's and ends at zero.
    np.testing.assert_allclose(float(schedule(0)), mnist_convnet.LEARNING_RATE, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(mnist_convnet.EPOCHS * 125)), 0.0, atol=1e-9)
    assert model.loss == "sparse_categorical_crossentropy"


def test_one_training_epoch_updates_conv1():
    rng = np.random.default_rng(1)
    images = rng.random((64, 28, 28, 1), dtype="float32")
    labels = rng.integers(0, 10, size=64)
    model = mnist_convnet.compile_model(mnist_convnet.build_model(), train_size=len(images))
    before = model.get_layer("conv1").get_weights()[0].copy()
    history = model.fit(images, labels, epochs=1, batch_size=mnist_convnet.BATCH_SIZE, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert np.abs(model.get_layer("conv1").get_weights()[0] - before).max() > 0.0
