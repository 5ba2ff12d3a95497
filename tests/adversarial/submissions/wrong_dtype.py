"""conv_ops: returns arrays of the wrong dtype: complex, strings, bool, datetime, and a string and a
bool for the scalars."""

import numpy as np

MARKER = "ADVERSARIAL_wrong_dtype"


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return np.zeros((x.shape[0], x.shape[1], x.shape[2], w.shape[3]), dtype=complex)


def convolve2d(x, k):
    return np.full((x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1), "0.0")


def max_pool2d(x, pool_size=2, stride=None):
    return np.ones(x.shape, dtype=bool)


def avg_pool2d(x, pool_size=2, stride=None):
    return np.zeros(x.shape, dtype="datetime64[s]")


def output_size(n, f, padding=0, stride=1):
    return "5"


def conv_param_count(f, d_in, k, bias=True):
    return True
