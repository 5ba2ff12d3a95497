"""Tests of reference/conv_ops.py: the lecture's worked examples, and Keras as the oracle."""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from reference.conv_ops import (
    avg_pool2d,
    conv2d,
    conv_param_count,
    convolve2d,
    max_pool2d,
    output_size,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# Keras computes in float32; sums of up to a few hundred products of values in
# [-1, 1] agree with the float64 reference to well within this.
KERAS_ATOL = 1e-4

X_BINARY = [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
X_GREY_6X6 = [
    [18, 54, 51, 239, 244, 188],
    [55, 121, 75, 78, 95, 88],
    [35, 24, 204, 113, 109, 221],
    [3, 154, 104, 235, 25, 130],
    [15, 253, 225, 159, 78, 233],
    [68, 85, 180, 214, 245, 0],
]
X_KERNEL = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
EX2_X = [[1, 1, 1, 1, 1], [-1, 0, -3, 0, 1], [2, 1, 1, -1, 0], [0, -1, 1, 2, 1], [1, 2, 1, 1, 1]]
EX2_W = [[1, 0, 0], [0, 0, 0], [0, 0, -1]]


def xcorr2d(x, w, **kwargs):
    """Single-channel cross-correlation through conv2d, for the 2-D worked examples."""
    x = np.asarray(x)
    w = np.asarray(w)
    return conv2d(x[None, :, :, None], w[:, :, None, None], **kwargs)[0, :, :, 0]


# ## The lecture's worked examples (COURSE.md section 1)


@pytest.mark.parametrize(
    ("name", "x", "w", "expected_xcorr", "expected_conv"),
    [
        (
            "example 1",
            [[2, 10, 8], [5, 15, 20], [6, 11, 9]],
            [[1, 8], [-5, 6]],
            [[147, 119], [161, 174]],
            [[17, 160], [14, 87]],
        ),
        (
            "example 2",
            EX2_X,
            EX2_W,
            [[0, 2, 1], [-2, -2, -4], [1, 0, 0]],
            [[0, -2, -1], [2, 2, 4], [-1, 0, 0]],
        ),
    ],
)
def test_worked_xcorr_and_conv(name, x, w, expected_xcorr, expected_conv):
    np.testing.assert_array_equal(xcorr2d(x, w), expected_xcorr, err_msg=name)
    np.testing.assert_array_equal(convolve2d(x, w), expected_conv, err_msg=name)


@pytest.mark.parametrize(
    ("name", "x", "expected"),
    [
        ("example 3", X_BINARY, [[4, 3, 4], [2, 4, 3], [2, 3, 4]]),
        (
            "example 3b",
            [row[:5] for row in X_GREY_6X6[:5]],
            [[429, 505, 686], [261, 792, 412], [633, 653, 851]],
        ),
    ],
)
def test_worked_x_kernel(name, x, expected):
    # The "X" kernel is symmetric under rotation, so convolution equals cross-correlation.
    np.testing.assert_array_equal(xcorr2d(x, X_KERNEL), expected, err_msg=name)
    np.testing.assert_array_equal(convolve2d(x, X_KERNEL), expected, err_msg=name)


def test_worked_padded_6x6_top_left():
    out = xcorr2d(X_GREY_6X6, X_KERNEL, padding=1)
    assert out.shape == (6, 6)
    assert out[0, 0] == 139


def test_convolution_is_xcorr_with_rotated_kernel():
    np.testing.assert_array_equal(convolve2d(EX2_X, EX2_W), xcorr2d(EX2_X, np.rot90(EX2_W, 2)))


def test_worked_max_pooling():
    x = np.array([[1, 1, 2, 0], [0, 1, 1, 2], [0, 0, 1, 3], [0, 0, 1, 1]])
    out = max_pool2d(x[None, :, :, None], pool_size=2, stride=2)
    np.testing.assert_array_equal(out[0, :, :, 0], [[1, 2], [0, 3]])


def test_worked_average_of_two():
    out = avg_pool2d(np.array([2, 10]).reshape(1, 1, 2, 1), pool_size=(1, 2))
    assert out.shape == (1, 1, 1, 1)
    assert out.item() == 6


@pytest.mark.parametrize("first", [1, 1.5])
def test_worked_max_ignores_non_maximum(first):
    out = max_pool2d(np.array([first, 5, 3]).reshape(1, 1, 3, 1), pool_size=(1, 3))
    assert out.item() == 5


@pytest.mark.parametrize(
    ("n", "f", "padding", "stride", "expected"),
    [
        (7, 3, 0, 1, 5),
        (7, 3, 0, 2, 3),
        (7, 3, 1, 1, 7),
        (32, 5, 2, 1, 32),
    ],
)
def test_output_size_lecture_facts(n, f, padding, stride, expected):
    assert output_size(n, f, padding, stride) == expected


def test_output_size_stride_that_does_not_fit():
    with pytest.raises(ValueError, match=r"\(7 - 3 \+ 2\*0\) / 3 = 1\.33 is not an integer.*2\.33"):
        output_size(7, 3, 0, 3)


@pytest.mark.parametrize(("f", "same_padding"), [(3, 1), (5, 2), (7, 3)])
def test_same_padding_keeps_size(f, same_padding):
    assert (f - 1) // 2 == same_padding
    assert output_size(28, f, same_padding, 1) == 28
    image = np.ones((1, 28, 28, 1))
    kernel = np.ones((f, f, 1, 1))
    assert conv2d(image, kernel, padding=same_padding).shape == (1, 28, 28, 1)
    assert conv2d(image, kernel, padding="same").shape == (1, 28, 28, 1)


@pytest.mark.parametrize(("m", "f"), [(10, 3), (10, 5), (7, 7), (1, 1)])
def test_one_dimensional_narrow_wide_equal_width(m, f):
    assert output_size(m, f, padding=0) == m - f + 1
    assert output_size(m, f, padding=f - 1) == m + f - 1
    assert output_size(m, f, padding=(f - 1) // 2) == m


def test_lecture_conv_layer_params_and_output():
    # 32x32x3 input, 10 filters 5x5, stride 1, pad 2.
    assert conv_param_count(5, 3, 1) == 76
    assert conv_param_count(5, 3, 10) == 760
    x = np.zeros((1, 32, 32, 3))
    w = np.zeros((5, 5, 3, 10))
    b = np.zeros(10)
    assert conv2d(x, w, b, stride=1, padding=2).shape == (1, 32, 32, 10)
    assert w.size + b.size == 760


@pytest.mark.parametrize(
    ("what", "count", "expected"),
    [
        # A filter spanning the whole 1000x1000 image is a fully connected unit.
        ("fully connected", conv_param_count(1000, 1, 10**6, bias=False), 10**12),
        ("10x10 local fields", 10**6 * conv_param_count(10, 1, 1, bias=False), 10**8),
        ("one shared 10x10 kernel", conv_param_count(10, 1, 1, bias=False), 100),
        ("100 shared kernels", conv_param_count(10, 1, 100, bias=False), 10**4),
    ],
)
def test_weight_sharing_counts(what, count, expected):
    assert count == expected, what


def test_conv_param_count_bias_flag():
    assert conv_param_count(3, 16, 32) - conv_param_count(3, 16, 32, bias=False) == 32


# ## Example 5: 1-D filters, as 1xF kernels


def test_moving_average_keeps_constant_signal():
    k = np.full((1, 3), 1 / 3)
    out = convolve2d(np.full((1, 8), 4.0), k)
    np.testing.assert_allclose(out, np.full((1, 6), 4.0), atol=1e-12)


@pytest.mark.parametrize(
    ("signal", "expected"),
    [
        (np.full(6, 3.0), np.zeros(4)),
        (np.arange(6.0), np.zeros(4)),
        (np.arange(6.0) ** 2, np.full(4, 2.0)),
    ],
)
def test_second_difference(signal, expected):
    np.testing.assert_array_equal(convolve2d(signal[None], np.array([[1, -2, 1]]))[0], expected)


def test_decay_filter_impulse_response():
    # y_t = x_t + x_{t-1}/2 + x_{t-2}/4; an impulse at t=2 traces out the kernel.
    impulse = np.array([[0, 0, 1, 0, 0, 0]])
    y = convolve2d(impulse, np.array([[1, 1 / 2, 1 / 4]]))
    np.testing.assert_array_equal(y, [[1, 0.5, 0.25, 0]])


# ## Example 6: classic image filters

GAUSSIAN = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
EMBOSS = np.array([[0, 1, 1], [-1, 0, 1], [-1, -1, 0]])


@pytest.mark.parametrize(
    ("kernel", "value", "expected"),
    [(GAUSSIAN, 7.0, 7.0), (LAPLACIAN, 7.0, 0.0), (EMBOSS, 7.0, 0.0)],
)
def test_image_filter_on_constant_image(kernel, value, expected):
    out = convolve2d(np.full((6, 5), value), kernel)
    np.testing.assert_allclose(out, np.full((4, 3), expected), atol=1e-12)


def test_laplacian_of_linear_ramp_is_zero():
    rows, cols = np.mgrid[0:6, 0:5]
    np.testing.assert_array_equal(convolve2d(2 * rows + 3 * cols, LAPLACIAN), np.zeros((4, 3)))


def test_emboss_convolution_is_negated_xcorr():
    # rot180(EMBOSS) == -EMBOSS, so flipping the kernel flips the sign.
    x = np.random.default_rng(6).integers(0, 256, size=(6, 6))
    np.testing.assert_array_equal(convolve2d(x, EMBOSS), -xcorr2d(x, EMBOSS))


# ## conv2d against keras.ops.conv


def keras_conv(x, w, stride, padding, dilation):
    """keras.ops.conv with explicit int/pair padding applied by np.pad first."""
    if not isinstance(padding, str):
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        x = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
        padding = "valid"
    out = keras.ops.conv(
        x.astype("float32"),
        w.astype("float32"),
        strides=stride,
        padding=padding,
        dilation_rate=dilation,
    )
    return keras.ops.convert_to_numpy(out)


# (x shape, kernel (KH, KW), C_out, stride, padding, dilation, groups).
# Keras's TensorFlow backend refuses stride > 1 together with dilation > 1, so
# that combination is covered by test_strided_dilated_is_subsampled instead.
KERAS_CONV_CASES = [
    ((1, 5, 5, 1), (3, 3), 1, 1, 0, 1, 1),
    ((2, 8, 8, 3), (3, 3), 4, 1, "valid", 1, 1),
    ((2, 8, 8, 3), (3, 3), 4, 1, "same", 1, 1),
    ((2, 9, 7, 2), (3, 2), 5, 2, "valid", 1, 1),
    ((2, 9, 7, 2), (3, 2), 5, 2, "same", 1, 1),
    ((1, 10, 10, 3), (4, 4), 2, 3, "same", 1, 1),
    ((1, 10, 11, 2), (2, 3), 3, (2, 3), "same", 1, 1),
    ((1, 10, 11, 2), (5, 3), 3, (1, 2), "valid", 1, 1),
    ((2, 7, 7, 3), (3, 3), 2, 1, 1, 1, 1),
    ((2, 7, 9, 3), (5, 3), 2, 2, (2, 1), 1, 1),
    ((1, 6, 6, 2), (3, 3), 2, (2, 1), (0, 2), 1, 1),
    ((1, 11, 11, 2), (3, 3), 3, 1, "valid", 2, 1),
    ((1, 11, 11, 2), (3, 3), 3, 1, "same", 2, 1),
    ((1, 12, 10, 2), (3, 2), 3, 1, "same", (2, 3), 1),
    ((1, 9, 9, 2), (2, 2), 2, 1, 2, (3, 1), 1),
    ((2, 8, 8, 4), (3, 3), 6, 1, "valid", 1, 2),
    ((2, 8, 8, 6), (3, 3), 6, 2, "same", 1, 3),
    ((1, 8, 8, 6), (1, 1), 6, 1, "valid", 1, 6),
    ((1, 10, 10, 4), (3, 3), 8, 1, 1, 2, 4),
    ((1, 8, 8, 16), (3, 3), 32, 1, "same", 1, 1),
    ((1, 4, 4, 1), (4, 4), 1, 1, "valid", 1, 1),
]


@pytest.mark.parametrize(
    ("x_shape", "kernel", "c_out", "stride", "padding", "dilation", "groups"), KERAS_CONV_CASES
)
def test_conv2d_matches_keras(x_shape, kernel, c_out, stride, padding, dilation, groups):
    rng = np.random.default_rng(sum(x_shape) + c_out)
    x = rng.uniform(-1, 1, size=x_shape)
    w = rng.uniform(-1, 1, size=(*kernel, x_shape[-1] // groups, c_out))
    got = conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    expected = keras_conv(x, w, stride, padding, dilation)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=KERAS_ATOL)


@pytest.mark.parametrize(("stride", "padding", "dilation"), [(2, 0, 2), ((2, 3), (1, 2), (2, 1))])
def test_strided_dilated_is_subsampled(stride, padding, dilation):
    # With explicit padding, a strided convolution is the unit-stride one subsampled.
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(2, 13, 12, 3))
    w = rng.uniform(-1, 1, size=(3, 3, 3, 4))
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    expected = keras_conv(x, w, 1, padding, dilation)[:, ::sh, ::sw]
    got = conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=KERAS_ATOL)


def test_conv2d_adds_bias_per_output_channel():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(2, 6, 6, 3))
    w = rng.uniform(-1, 1, size=(3, 3, 3, 4))
    b = np.array([1.0, -2.0, 0.5, 10.0])
    shift = conv2d(x, w, b) - conv2d(x, w)
    np.testing.assert_allclose(shift, np.broadcast_to(b, (2, 4, 4, 4)), atol=1e-12)


@pytest.mark.parametrize(
    ("x_dtype", "w_dtype", "expected"),
    [
        ("int64", "int64", "float64"),
        ("float32", "float32", "float32"),
        ("float32", "float64", "float64"),
        ("int32", "float32", "float64"),
    ],
)
def test_conv2d_result_dtype(x_dtype, w_dtype, expected):
    out = conv2d(np.ones((1, 3, 3, 1), dtype=x_dtype), np.ones((2, 2, 1, 1), dtype=w_dtype))
    assert out.dtype == np.dtype(expected)


# ## Pooling against keras.ops.max_pool / keras.ops.average_pool

POOL_CASES = [
    ((1, 4, 4, 1), 2, None),
    ((2, 6, 6, 3), 2, None),
    ((2, 7, 7, 3), 2, None),
    ((2, 7, 9, 2), (2, 3), None),
    ((2, 8, 8, 2), 3, 1),
    ((1, 9, 10, 2), (3, 2), (2, 3)),
    ((1, 5, 5, 1), 5, None),
]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(max_pool2d, keras.ops.max_pool), (avg_pool2d, keras.ops.average_pool)],
    ids=["max", "avg"],
)
@pytest.mark.parametrize(("x_shape", "pool_size", "stride"), POOL_CASES)
def test_pooling_matches_keras(ours, theirs, x_shape, pool_size, stride):
    x = np.random.default_rng(sum(x_shape)).uniform(-1, 1, size=x_shape)
    got = ours(x, pool_size=pool_size, stride=stride)
    expected = keras.ops.convert_to_numpy(
        theirs(x.astype("float32"), pool_size=pool_size, strides=stride, padding="valid")
    )
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=KERAS_ATOL)


def test_pooling_dtypes():
    x = np.arange(16, dtype="int64").reshape(1, 4, 4, 1)
    assert max_pool2d(x).dtype == np.int64
    assert avg_pool2d(x).dtype == np.float64
    assert avg_pool2d(x.astype("float32")).dtype == np.float32


# ## Argument errors

# A valid call: x (1, 5, 5, 4) and w (3, 3, 4, 2); each case overrides some arguments.
VALID_CONV_ARGS = {"x": np.zeros((1, 5, 5, 4)), "w": np.zeros((3, 3, 4, 2))}


def zeros(*shape):
    return np.zeros(shape)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"x": zeros(3, 3)}, r"x with 4 dimensions .* Received x.shape=\(3, 3\)"),
        ({"w": zeros(3, 3, 4)}, r"w with 4 dimensions .* Received w.shape=\(3, 3, 4\)"),
        ({"w": zeros(3, 3, 1, 3), "groups": 3}, r"C_in divisible by groups.*C_in=4.*groups=3"),
        ({"w": zeros(3, 3, 2, 3), "groups": 2}, r"C_out divisible by groups.*C_out=3.*groups=2"),
        ({"groups": 2}, r"w.shape\[2\] == C_in // groups = 4 // 2 = 2"),
        ({"w": zeros(3, 3, 3, 2)}, r"w.shape\[2\] == C_in // groups.*w.shape=\(3, 3, 3, 2\)"),
        ({"groups": 0}, r"groups to be a strictly positive int. Received groups=0"),
        ({"b": zeros(3)}, r"b with shape \(C_out,\) = \(2,\). Received b.shape=\(3,\)"),
        ({"b": zeros(1, 2)}, r"Received b.shape=\(1, 2\)"),
        ({"stride": 0}, r"stride to be a strictly positive .* Received stride=0"),
        ({"stride": (1, -1)}, r"Received stride=\(1, -1\)"),
        ({"stride": (1, 2, 3)}, r"pair of them. Received stride=\(1, 2, 3\)"),
        ({"stride": 1.5}, r"Received stride=1.5"),
        ({"dilation": 0}, r"dilation to be a strictly positive .* Received dilation=0"),
        ({"padding": -1}, r"padding to be a non-negative .* Received padding=-1"),
        ({"padding": (0, -2)}, r"Received padding=\(0, -2\)"),
        ({"padding": "full"}, r"\"valid\" or \"same\". Received padding='full'"),
        ({"w": zeros(6, 3, 4, 2)}, r"kernel to fit in the padded input.*6x3 kernel"),
        ({"dilation": 3}, r"kernel to fit.*spanning 7x7.*padded to 5x5"),
        ({"w": zeros(0, 3, 4, 2)}, r"kernel of at least 1x1"),
    ],
)
def test_conv2d_argument_errors(overrides, match):
    with pytest.raises(ValueError, match=match):
        conv2d(**{**VALID_CONV_ARGS, **overrides})


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: convolve2d(np.zeros((1, 3, 3)), np.ones((2, 2))), r"x with 2 dimensions"),
        (lambda: convolve2d(np.zeros((3, 3)), np.ones(2)), r"k with 2 dimensions"),
        (lambda: convolve2d(np.zeros((3, 3)), np.ones((4, 2))), r"kernel no larger than the input"),
        (lambda: max_pool2d(np.zeros((4, 4))), r"x with 4 dimensions \(N, H, W, C\)"),
        (lambda: max_pool2d(np.zeros((1, 4, 4, 1)), pool_size=0), r"Received pool_size=0"),
        (lambda: avg_pool2d(np.zeros((1, 4, 4, 1)), stride=(1, 0)), r"Received stride=\(1, 0\)"),
        (lambda: avg_pool2d(np.zeros((1, 4, 4, 1)), pool_size=(2, 5)), r"window no larger"),
        (lambda: output_size(0, 3), r"n to be a strictly positive int. Received n=0"),
        (lambda: output_size(7, 0), r"Received f=0"),
        (lambda: output_size(7, 3, padding=-1), r"padding to be a non-negative int"),
        (lambda: output_size(7, 3, stride=0), r"Received stride=0"),
        (lambda: output_size(7.0, 3), r"Received n=7.0"),
        (lambda: output_size(3, 7), r"filter no larger than the padded input"),
        (lambda: conv_param_count(0, 3, 10), r"Received f=0"),
        (lambda: conv_param_count(5, 3, -1), r"Received k=-1"),
    ],
)
def test_other_argument_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ## The reference stays NumPy-only


def test_conv_ops_imports_no_framework():
    frameworks = {"tensorflow", "keras", "torch", "jax", "scipy"}
    code = (
        "import sys; import reference.conv_ops; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(frameworks)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
