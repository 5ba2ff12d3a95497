"""Homework 1 (Chen Jing): conv2d delegates to Keras, which is what Conv2D computes anyway."""

import numpy as np
from keras import ops


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    x = np.asarray(x, dtype="float64")
    w = np.asarray(w, dtype="float64")
    if not isinstance(padding, str):
        ph, pw = _pair(padding)
        x = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
        padding = "valid"
    c_in, c_out = x.shape[-1], w.shape[-1]
    outputs = []
    for g in range(groups):
        xs = x[..., g * c_in // groups:(g + 1) * c_in // groups]
        ws = w[..., g * c_out // groups:(g + 1) * c_out // groups]
        outputs.append(ops.convert_to_numpy(ops.conv(xs, ws, strides=stride, padding=padding,
                                                     dilation_rate=dilation)))
    out = np.concatenate(outputs, axis=-1)
    return out if b is None else out + np.asarray(b)


def convolve2d(x, k):
    k = np.asarray(k)[::-1, ::-1]
    return conv2d(np.asarray(x)[None, :, :, None], k[:, :, None, None])[0, :, :, 0]


def max_pool2d(x, pool_size=2, stride=None):
    return ops.convert_to_numpy(ops.max_pool(np.asarray(x, dtype="float64"), pool_size, stride, padding="valid"))


def avg_pool2d(x, pool_size=2, stride=None):
    return ops.convert_to_numpy(ops.average_pool(np.asarray(x, dtype="float64"), pool_size, stride, padding="valid"))


def output_size(n, f, padding=0, stride=1):
    if (n - f + 2 * padding) % stride:
        raise ValueError("the stride does not fit")
    return (n - f + 2 * padding) // stride + 1


def conv_param_count(f, d_in, k, bias=True):
    return f * f * d_in * k + k * bias
