"""conv_ops: loads TensorFlow under a computed name and removes it from sys.modules before the probe
looks, so neither the grader's reading of the source nor the probe's look at sys.modules sees it.
(Its functions are NumPy: the point is that "NumPy only" is not enforced against a determined student.)
A known weakness: the probe runs in the student's process."""

import importlib
import sys

import numpy as np

MARKER = "ADVERSARIAL_numpy_only_evasion"

# Everything the import brings in is hidden, not only TensorFlow and Keras: TensorFlow imports jax
# where it is installed (tf.lite), which would give the framework away.
before = set(sys.modules)
framework = importlib.import_module("tensor" + "flow")
for name in set(sys.modules) - before:
    del sys.modules[name]


# --- NumPy functions; a real cheat would call framework.nn.conv2d here ---


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _same(size, kernel, stride, dilation):
    total = max((-(-size // stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    kh, kw, c_group, c_out = w.shape
    if padding == "same":
        pads = (_same(x.shape[1], kh, sh, dh), _same(x.shape[2], kw, sw, dw))
    elif padding == "valid":
        pads = ((0, 0), (0, 0))
    else:
        ph, pw = _pair(padding)
        pads = ((ph, ph), (pw, pw))
    xp = np.pad(x, ((0, 0), *pads, (0, 0)))
    out_h = (xp.shape[1] - (kh - 1) * dh - 1) // sh + 1
    out_w = (xp.shape[2] - (kw - 1) * dw - 1) // sw + 1
    per_group = c_out // groups
    out = np.zeros((x.shape[0], out_h, out_w, c_out))
    for g in range(groups):
        channels = xp[..., g * c_group:(g + 1) * c_group]
        filters = slice(g * per_group, (g + 1) * per_group)
        for i in range(kh):
            for j in range(kw):
                patch = channels[:, i * dh:i * dh + (out_h - 1) * sh + 1:sh, j * dw:j * dw + (out_w - 1) * sw + 1:sw]
                out[..., filters] += patch @ w[i, j, :, filters]
    return out if b is None else out + np.asarray(b)


def convolve2d(x, k):
    return conv2d(np.asarray(x)[None, :, :, None], np.asarray(k)[::-1, ::-1, None, None])[0, :, :, 0]


def _pool(x, pool_size, stride, reduce):
    ph, pw = _pair(pool_size)
    sh, sw = _pair(pool_size if stride is None else stride)
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(x), (ph, pw), axis=(1, 2))
    return reduce(windows[:, ::sh, ::sw], axis=(-2, -1))


def max_pool2d(x, pool_size=2, stride=None):
    return _pool(x, pool_size, stride, np.max)


def avg_pool2d(x, pool_size=2, stride=None):
    return _pool(x, pool_size, stride, np.mean)


def output_size(n, f, padding=0, stride=1):
    span = n - f + 2 * padding
    if span < 0 or span % stride:
        raise ValueError(f"stride {stride} does not fit a filter of {f} on {n} with padding {padding}")
    return span // stride + 1


def conv_param_count(f, d_in, k, bias=True):
    return f * f * d_in * k + (k if bias else 0)
