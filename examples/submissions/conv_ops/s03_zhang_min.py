"""Homework 1: conv2d, convolve2d, pooling, sizes. Zhang Min.

A convolution flips its kernel (lecture 1: conv(x, w) = xcorr(x, rot180(w))),
so conv2d below turns the kernel by 180 degrees and then slides it.
"""

import numpy as np


def _two(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)[::-1, ::-1]  # convolution: rotate the kernel first
    n, h, wid, c_in = x.shape
    kh, kw, c_g, c_out = w.shape
    (sh, sw), (dh, dw) = _two(stride), _two(dilation)
    if isinstance(padding, str):
        if padding == "valid":
            pt = pb = pl = pr = 0
        else:  # "same"
            th = max((-(-h // sh) - 1) * sh + (kh - 1) * dh + 1 - h, 0)
            tw = max((-(-wid // sw) - 1) * sw + (kw - 1) * dw + 1 - wid, 0)
            pt, pb, pl, pr = th // 2, th - th // 2, tw // 2, tw - tw // 2
    else:
        (pt, pl) = _two(padding)
        pb, pr = pt, pl
    x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    out_h = (x.shape[1] - (kh - 1) * dh - 1) // sh + 1
    out_w = (x.shape[2] - (kw - 1) * dw - 1) // sw + 1
    k_g = c_out // groups
    out = np.zeros((n, out_h, out_w, c_out))
    # One kernel tap at a time: shift the input under the tap and multiply-add.
    for u in range(kh):
        for v in range(kw):
            shifted = x[:, u * dh: u * dh + (out_h - 1) * sh + 1: sh, v * dw: v * dw + (out_w - 1) * sw + 1: sw, :]
            for g in range(groups):
                out[..., g * k_g:(g + 1) * k_g] += shifted[..., g * c_g:(g + 1) * c_g] @ w[u, v, :, g * k_g:(g + 1) * k_g]
    if b is not None:
        out += np.asarray(b, dtype=float)
    return out


def convolve2d(x, k):
    x = np.asarray(x, dtype=float)
    k = np.asarray(k, dtype=float)
    return conv2d(x[None, :, :, None], k[:, :, None, None])[0, :, :, 0]


def _pool(x, size, stride, how):
    x = np.asarray(x)
    ph, pw = _two(size)
    sh, sw = _two(size if stride is None else stride)
    rows = (x.shape[1] - ph) // sh + 1
    cols = (x.shape[2] - pw) // sw + 1
    return np.stack([np.stack([how(x[:, i * sh:i * sh + ph, j * sw:j * sw + pw, :], axis=(1, 2))
                               for j in range(cols)], axis=1) for i in range(rows)], axis=1)


def max_pool2d(x, pool_size=2, stride=None):
    return _pool(x, pool_size, stride, np.max)


def avg_pool2d(x, pool_size=2, stride=None):
    return _pool(x, pool_size, stride, np.mean)


def output_size(n, f, padding=0, stride=1):
    size = (n - f + 2 * padding) / stride + 1
    if size != int(size):
        raise ValueError(f"output size {size:.2f} is not an integer")
    return int(size)


def conv_param_count(f, d_in, k, bias=True):
    return (f * f * d_in) * k + (k if bias else 0)
