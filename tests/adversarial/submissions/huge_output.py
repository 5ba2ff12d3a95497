"""conv_ops: returns huge arrays: conv2d a view of 10^9 elements (no memory until copied), the first
avg_pool2d 320 MiB (over the 256 MiB single-file limit), the first max_pool2d 68 MiB (under the file
limit, over the 1 MiB the grader reads of so small an answer)."""

import numpy as np

MARKER = "ADVERSARIAL_huge_output"
calls = {"avg": 0, "max": 0}


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return np.broadcast_to(np.float64(0), (10**9,))


def avg_pool2d(x, pool_size=2, stride=None):
    calls["avg"] += 1
    if calls["avg"] > 1:
        raise ValueError("only the first call is huge")
    return np.zeros(40 * 2**20)


def max_pool2d(x, pool_size=2, stride=None):
    calls["max"] += 1
    if calls["max"] > 1:
        raise ValueError("only the first call is huge")
    return np.zeros(int(8.5 * 2**20))


def convolve2d(x, k):
    return np.broadcast_to(np.float64(0), (10**9,))


def output_size(n, f, padding=0, stride=1):
    return 2**64


def conv_param_count(f, d_in, k, bias=True):
    return 2**64
