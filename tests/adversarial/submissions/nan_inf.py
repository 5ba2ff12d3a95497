"""conv_ops: returns NaN and inf of the right shapes: arrays that compare unequal to everything, and
scalars that JSON writes as NaN and Infinity."""

import numpy as np

MARKER = "ADVERSARIAL_nan_inf"


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return np.full((x.shape[0], x.shape[1], x.shape[2], w.shape[3]), np.nan)


def convolve2d(x, k):
    return np.full((x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1), np.inf)


def max_pool2d(x, pool_size=2, stride=None):
    return np.full_like(x, -np.inf)


avg_pool2d = max_pool2d


def output_size(n, f, padding=0, stride=1):
    return float("nan")


def conv_param_count(f, d_in, k, bias=True):
    return float("inf")
