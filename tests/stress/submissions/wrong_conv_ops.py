"""Every function of conv_ops defined, every answer wrong: graded in one short sandbox run, 1/30
(the NumPy-only check). The stress tests queue hundreds of copies, each with a line of its own."""


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return 0


def convolve2d(x, k):
    return 0


def max_pool2d(x, pool_size=2, stride=None):
    return 0


def avg_pool2d(x, pool_size=2, stride=None):
    return 0


def output_size(n, f, padding=0, stride=1):
    return 0


def conv_param_count(f, d_in, k, bias=True):
    return 0
