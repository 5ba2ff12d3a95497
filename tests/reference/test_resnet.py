"""Tests of reference.resnet against the paper's table and the numbers in COURSE.md section 4."""

import functools
import re

import keras
import numpy as np
import pytest
from keras import layers

from reference.resnet import (
    ZeroPadShortcut,
    basic_block,
    bottleneck_block,
    build_resnet,
    count_multiply_adds,
)

DEPTHS = (18, 34, 50, 101, 152)

# 1x1 conv + BN (gamma, beta) of every projection shortcut, counted by hand.
BASIC_PROJECTIONS = sum(c_in * c_out + 2 * c_out for c_in, c_out in [(64, 128), (128, 256), (256, 512)])
BOTTLENECK_PROJECTIONS = sum(
    c_in * c_out + 2 * c_out for c_in, c_out in [(64, 256), (256, 512), (512, 1024), (1024, 2048)]
)

# ResNet-18 at 224x224, layer by layer: H_out * W_out * KH * KW * C_in * C_out.
RESNET18_MULTIPLY_ADDS = (
    112 * 112 * 7 * 7 * 3 * 64  # conv1
    + 4 * 56 * 56 * 3 * 3 * 64 * 64  # conv2_x
    + 28 * 28 * 3 * 3 * (64 * 128 + 3 * 128 * 128) + 28 * 28 * 64 * 128  # conv3_x + projection
    + 14 * 14 * 3 * 3 * (128 * 256 + 3 * 256 * 256) + 14 * 14 * 128 * 256  # conv4_x
    + 7 * 7 * 3 * 3 * (256 * 512 + 3 * 512 * 512) + 7 * 7 * 256 * 512  # conv5_x
    + 512 * 1000  # predictions
)


@functools.cache
def resnet(depth, shortcut="projection"):
    # Built once per session: several tests look at the same full model.
    return build_resnet(depth, shortcut=shortcut)


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def predict(model, x):
    # training=False: batch normalization uses its moving statistics (0 and 1 when fresh).
    return keras.ops.convert_to_numpy(model(x, training=False))


def block_model(block, input_shape, filters, stride=1, shortcut="projection", name="block"):
    inputs = keras.Input(shape=input_shape)
    return keras.Model(inputs, block(inputs, filters, stride, name=name, shortcut=shortcut))


@pytest.mark.parametrize(
    "depth, expected",
    [
        (18, 11_689_512),
        (34, 21_797_672),
        (50, 25_557_032),
        (101, 44_549_160),
        (152, 60_192_808),
    ],
)
def test_trainable_parameters_match_torchvision(depth, expected):
    assert trainable_count(resnet(depth)) == expected


def test_keras_count_params_includes_batch_norm_statistics():
    # 9,600 more than the trainable count: moving mean and variance of every BN channel.
    assert resnet(18).count_params() == 11_699_112


@pytest.mark.parametrize(
    "depth, paper_flops",
    [(18, 1.8e9), (34, 3.6e9), (50, 3.8e9), (101, 7.6e9), (152, 11.3e9)],
)
def test_multiply_adds_within_3_percent_of_paper(depth, paper_flops):
    assert count_multiply_adds(resnet(depth)) == pytest.approx(paper_flops, rel=0.03)


@pytest.mark.parametrize(
    "depth, course_flops",
    [(18, 1.81e9), (34, 3.66e9), (50, 3.86e9), (101, 7.57e9), (152, 11.28e9)],
)
def test_multiply_adds_match_course_to_three_digits(depth, course_flops):
    # COURSE.md rounds to three significant digits; 3.86e9 (not v1.5's 4.09e9)
    # shows the stride sits on the first 1x1 conv of a bottleneck block.
    assert count_multiply_adds(resnet(depth)) == pytest.approx(course_flops, abs=0.005e9)


def test_resnet18_multiply_adds_equal_hand_count():
    assert RESNET18_MULTIPLY_ADDS == 1_814_073_344
    assert count_multiply_adds(resnet(18)) == RESNET18_MULTIPLY_ADDS


@pytest.mark.parametrize("depth", DEPTHS)
def test_weighted_layers_excluding_projections_equal_depth(depth):
    weighted = [
        layer
        for layer in resnet(depth).layers
        if isinstance(layer, (layers.Conv2D, layers.Dense)) and not layer.name.endswith("_0_conv")
    ]
    assert len(weighted) == depth


@pytest.mark.parametrize(
    "depth, expected",
    [
        (18, {"conv3_block1", "conv4_block1", "conv5_block1"}),
        (34, {"conv3_block1", "conv4_block1", "conv5_block1"}),
        (50, {"conv2_block1", "conv3_block1", "conv4_block1", "conv5_block1"}),
        (152, {"conv2_block1", "conv3_block1", "conv4_block1", "conv5_block1"}),
    ],
)
def test_projections_only_where_shape_changes(depth, expected):
    projected = {layer.name.removesuffix("_0_conv") for layer in resnet(depth).layers if layer.name.endswith("_0_conv")}
    assert projected == expected


@pytest.mark.parametrize(
    "depth, layer_name, expected_shape",
    [
        (18, "conv1_relu", (112, 112, 64)),
        (18, "pool1_pool", (56, 56, 64)),
        (18, "conv2_block2_out", (56, 56, 64)),
        (18, "conv3_block2_out", (28, 28, 128)),
        (18, "conv4_block2_out", (14, 14, 256)),
        (18, "conv5_block2_out", (7, 7, 512)),
        (18, "avg_pool", (512,)),
        (18, "predictions", (1000,)),
        (50, "conv2_block3_out", (56, 56, 256)),
        (50, "conv3_block4_out", (28, 28, 512)),
        (50, "conv4_block6_out", (14, 14, 1024)),
        (50, "conv5_block3_out", (7, 7, 2048)),
        (50, "avg_pool", (2048,)),
    ],
)
def test_stage_output_shapes_follow_paper_table(depth, layer_name, expected_shape):
    assert tuple(resnet(depth).get_layer(layer_name).output.shape[1:]) == expected_shape


@pytest.mark.parametrize(
    "depth, layer_name, expected_strides",
    [
        (18, "conv3_block1_1_conv", (2, 2)),
        (18, "conv3_block1_2_conv", (1, 1)),
        (50, "conv2_block1_1_conv", (1, 1)),
        (50, "conv3_block1_1_conv", (2, 2)),
        (50, "conv3_block1_2_conv", (1, 1)),
        (50, "conv3_block1_0_conv", (2, 2)),
        (50, "conv5_block1_1_conv", (2, 2)),
    ],
)
def test_down_sampling_stride_sits_on_first_conv(depth, layer_name, expected_strides):
    assert resnet(depth).get_layer(layer_name).strides == expected_strides


def test_model_name_and_softmax_head():
    model = build_resnet(18, input_shape=(64, 64, 3), num_classes=7)
    probabilities = predict(model, np.random.default_rng(0).normal(size=(2, 64, 64, 3)))
    assert model.name == "resnet18"
    assert tuple(probabilities.shape) == (2, 7)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "depth, expected",
    [
        (18, 11_689_512 - BASIC_PROJECTIONS),
        (34, 21_797_672 - BASIC_PROJECTIONS),
        (50, 25_557_032 - BOTTLENECK_PROJECTIONS),
        # Same code path as ResNet-50, only longer to build.
        pytest.param(101, 44_549_160 - BOTTLENECK_PROJECTIONS, marks=pytest.mark.slow),
        pytest.param(152, 60_192_808 - BOTTLENECK_PROJECTIONS, marks=pytest.mark.slow),
    ],
)
def test_option_a_resnet_has_no_shortcut_parameters(depth, expected):
    assert trainable_count(build_resnet(depth, shortcut="zeros")) == expected


# (block, input shape, filters, stride, shortcut, output shape, has projection)
BLOCK_CASES = [
    (basic_block, (8, 8, 16), 16, 1, "projection", (8, 8, 16), False),
    (basic_block, (8, 8, 16), 32, 1, "projection", (8, 8, 32), True),
    (basic_block, (8, 8, 16), 16, 2, "projection", (4, 4, 16), True),
    (basic_block, (8, 8, 16), 32, 2, "projection", (4, 4, 32), True),
    (basic_block, (7, 7, 16), 32, 2, "projection", (4, 4, 32), True),
    (basic_block, (8, 8, 16), 16, 1, "zeros", (8, 8, 16), False),
    (basic_block, (8, 8, 16), 32, 1, "zeros", (8, 8, 32), False),
    (basic_block, (8, 8, 16), 16, 2, "zeros", (4, 4, 16), False),
    (basic_block, (7, 7, 16), 32, 2, "zeros", (4, 4, 32), False),
    (bottleneck_block, (8, 8, 16), 4, 1, "projection", (8, 8, 16), False),
    (bottleneck_block, (8, 8, 16), 8, 1, "projection", (8, 8, 32), True),
    (bottleneck_block, (8, 8, 16), 4, 2, "projection", (4, 4, 16), True),
    (bottleneck_block, (8, 8, 16), 8, 2, "projection", (4, 4, 32), True),
    (bottleneck_block, (8, 8, 16), 4, 1, "zeros", (8, 8, 16), False),
    (bottleneck_block, (8, 8, 16), 8, 1, "zeros", (8, 8, 32), False),
    (bottleneck_block, (8, 8, 16), 4, 2, "zeros", (4, 4, 16), False),
    (bottleneck_block, (7, 7, 16), 8, 2, "zeros", (4, 4, 32), False),
]


@pytest.mark.parametrize("block, input_shape, filters, stride, shortcut, output_shape, projected", BLOCK_CASES)
def test_block_output_shape_and_projection(block, input_shape, filters, stride, shortcut, output_shape, projected):
    model = block_model(block, input_shape, filters, stride, shortcut)
    names = {layer.name for layer in model.layers}
    outputs = predict(model, np.zeros((2, *input_shape), dtype="float32"))
    assert tuple(model.output.shape[1:]) == output_shape
    assert tuple(outputs.shape[1:]) == output_shape
    assert ("block_0_conv" in names) == projected
    assert ("block_0_bn" in names) == projected


def residual_branch_parameters(block, c_in, filters):
    # Kernels plus BN gamma and beta, shortcut excluded.
    if block is basic_block:
        return 9 * c_in * filters + 9 * filters * filters + 2 * (2 * filters)
    return c_in * filters + 9 * filters * filters + filters * 4 * filters + 2 * (filters + filters + 4 * filters)


@pytest.mark.parametrize("block, input_shape, filters, stride, shortcut, output_shape, projected", BLOCK_CASES)
def test_block_parameters(block, input_shape, filters, stride, shortcut, output_shape, projected):
    model = block_model(block, input_shape, filters, stride, shortcut)
    c_in, c_out = input_shape[-1], output_shape[-1]
    projection = c_in * c_out + 2 * c_out if projected else 0
    assert trainable_count(model) == residual_branch_parameters(block, c_in, filters) + projection


@pytest.mark.parametrize("block, filters", [(basic_block, 16), (bottleneck_block, 4)])
def test_block_with_zero_kernels_returns_relu_of_input(block, filters):
    model = block_model(block, (8, 8, 16), filters)
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            layer.kernel.assign(np.zeros(layer.kernel.shape))
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 16)).astype("float32")
    expected = np.maximum(x, 0)
    # A plain (non-residual) stack with zero kernels returns all zeros, far from this.
    assert np.abs(expected).max() > 0.5
    np.testing.assert_allclose(predict(model, x), expected, atol=1e-6)


@pytest.mark.parametrize("block, filters", [(basic_block, 16), (bottleneck_block, 4)])
def test_block_with_random_kernels_adds_residual(block, filters):
    # Guards the test above: with the default initialisation the branch is not zero.
    model = block_model(block, (8, 8, 16), filters)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 16)).astype("float32")
    assert not np.allclose(predict(model, x), np.maximum(x, 0), atol=1e-3)


def test_zero_pad_shortcut_matches_numpy():
    x = np.random.default_rng(0).normal(size=(2, 7, 7, 3)).astype("float32")
    expected = np.pad(x[:, ::2, ::2, :], [(0, 0), (0, 0), (0, 0), (0, 2)])
    layer = ZeroPadShortcut(5, 2)
    assert layer.compute_output_shape((None, 7, 7, 3)) == (None, 4, 4, 5)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), expected)


# Keras's own TensorFlow saving code trips NumPy 2's copy= deprecation; not ours to fix.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_option_a_block_survives_save_and_load(tmp_path):
    model = block_model(basic_block, (8, 8, 16), 32, 2, "zeros")
    path = tmp_path / "block.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 16)).astype("float32")
    assert isinstance(restored.get_layer("block_0_zeropad"), ZeroPadShortcut)
    np.testing.assert_allclose(predict(restored, x), predict(model, x), atol=1e-6)


def test_blocks_without_name_get_distinct_names():
    inputs = keras.Input(shape=(8, 8, 16))
    x = basic_block(basic_block(inputs, 16), 16)
    model = keras.Model(inputs, x)
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names))


def test_count_multiply_adds_of_small_model_by_hand():
    inputs = keras.Input(shape=(5, 5, 3))
    x = layers.Conv2D(4, 3)(inputs)  # 3*3 outputs * 4 channels, 3*3*3 taps each
    x = layers.Conv2D(6, 3, padding="same", groups=2, use_bias=False)(x)  # 3*3*6 outputs, 3*3*2 taps
    x = layers.BatchNormalization()(x)
    inner = keras.Model(inputs, x)
    outer_inputs = keras.Input(shape=(5, 5, 3))
    y = layers.Flatten()(inner(outer_inputs))
    y = layers.Dense(10)(y)  # 54 inputs
    model = keras.Model(outer_inputs, y)
    assert count_multiply_adds(model) == 3 * 3 * 4 * 27 + 3 * 3 * 6 * 18 + 54 * 10


def test_count_multiply_adds_needs_fixed_input_size():
    inputs = keras.Input(shape=(None, None, 3))
    model = keras.Model(inputs, layers.Conv2D(4, 3, name="conv")(inputs))
    with pytest.raises(ValueError, match="Layer 'conv' .* fixed input shape"):
        count_multiply_adds(model)


@pytest.mark.parametrize(
    "block, filters, stride, shortcut, message",
    [
        (basic_block, 0, 1, "projection", "Expected a strictly positive value. Received filters=0."),
        (bottleneck_block, -4, 1, "projection", "Expected a strictly positive value. Received filters=-4."),
        (basic_block, 16, 3, "projection", "Expected 1 or 2. Received stride=3."),
        (bottleneck_block, 4, 0, "projection", "Expected 1 or 2. Received stride=0."),
        (basic_block, 16, 1, "identity", "Received shortcut='identity'."),
        (bottleneck_block, 2, 1, "zeros", "shortcut='zeros' can only add channels"),
    ],
)
def test_block_argument_errors(block, filters, stride, shortcut, message):
    inputs = keras.Input(shape=(8, 8, 16))
    with pytest.raises(ValueError, match=re.escape(message)):
        block(inputs, filters, stride, name="block", shortcut=shortcut)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"depth": 20}, "Expected one of 18, 34, 50, 101, 152. Received depth=20."),
        ({"depth": "50"}, "Received depth='50'."),
        ({"depth": 18, "num_classes": 0}, "Expected a strictly positive value. Received num_classes=0."),
        ({"depth": 18, "shortcut": "B"}, "Received shortcut='B'."),
    ],
)
def test_build_resnet_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_resnet(**kwargs)
