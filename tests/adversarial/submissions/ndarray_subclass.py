"""conv_ops: returns instances of an ndarray subclass (and int and float subclasses) that claim to
equal anything and to be close to anything; the data under the lies are zeros."""

import numpy as np

MARKER = "ADVERSARIAL_ndarray_subclass"


class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.broadcast(self, other).shape, dtype=bool)

    def __sub__(self, other):
        return np.zeros(np.broadcast(self, other).shape)

    __rsub__ = __sub__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

    def astype(self, *args, **kwargs):
        return self

    def __array__(self, dtype=None, copy=None):
        return np.zeros(self.shape)


class Anything(int):
    def __eq__(self, other):
        return True

    def __float__(self):
        return 5.0

    def __repr__(self):
        return "5"


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return np.zeros((x.shape[0], x.shape[1], x.shape[2], w.shape[3])).view(Liar)


def convolve2d(x, k):
    return np.zeros((x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1)).view(Liar)


def max_pool2d(x, pool_size=2, stride=None):
    return np.zeros_like(x).view(Liar)


avg_pool2d = max_pool2d


def output_size(n, f, padding=0, stride=1):
    return Anything(0)


def conv_param_count(f, d_in, k, bias=True):
    return Anything(0)
