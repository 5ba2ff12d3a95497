"""
Assignment 1 -- Zhao Lei

conv2d as im2col + one matrix product: gather every receptive field into a row of
a big matrix, multiply by the kernel reshaped to (KH*KW*C_in, C_out).
"""

import numpy as np


def _hw(value):
    return (value, value) if np.isscalar(value) else tuple(value)


def _pads(padding, shape, kernel, strides, dilations):
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0), (0, 0)]
        pads = []
        for size, k, s, d in zip(shape, kernel, strides, dilations):
            need = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
            pads.append((need // 2, need - need // 2))
        return pads
    ph, pw = _hw(padding)
    return [(ph, ph), (pw, pw)]


def im2col(x, kernel, strides, dilations):
    """(N, H, W, C) -> (N, H_out, W_out, KH*KW*C), the receptive field of each output pixel."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    n, h, w, c = x.shape
    out_h = (h - (kh - 1) * dh - 1) // sh + 1
    out_w = (w - (kw - 1) * dw - 1) // sw + 1
    cols = np.empty((n, out_h, out_w, kh, kw, c))
    for u in range(kh):
        for v in range(kw):
            cols[:, :, :, u, v, :] = x[:, u * dh:u * dh + sh * (out_h - 1) + 1:sh,
                                       v * dw:v * dw + sw * (out_w - 1) + 1:sw, :]
    return cols.reshape(n, out_h, out_w, kh * kw * c)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    kh, kw, c_g, c_out = w.shape
    strides, dilations = _hw(stride), _hw(dilation)
    pads = _pads(padding, x.shape[1:3], (kh, kw), strides, dilations)
    x = np.pad(x, [(0, 0), *pads, (0, 0)])
    k_g = c_out // groups
    parts = []
    for g in range(groups):
        cols = im2col(x[..., g * c_g:(g + 1) * c_g], (kh, kw), strides, dilations)
        parts.append(cols @ w[..., g * k_g:(g + 1) * k_g].reshape(-1, k_g))
    out = np.concatenate(parts, axis=-1)
    if b is not None:
        out = out + b
    return out


def convolve2d(x, k):
    x, k = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
    return conv2d(x[None, ..., None], np.rot90(k, 2)[..., None, None])[0, ..., 0]


def _pool_windows(x, pool_size, stride):
    """(N, H_out, W_out, PH*PW, C): im2col keeps the channels last, so split them off again."""
    x = np.asarray(x, dtype=np.float64)
    ph, pw = _hw(pool_size)
    cols = im2col(x, (ph, pw), _hw(stride or pool_size), (1, 1))
    return cols.reshape(*cols.shape[:3], ph * pw, x.shape[-1])


def max_pool2d(x, pool_size=2, stride=None):
    return _pool_windows(x, pool_size, stride).max(axis=3)


def avg_pool2d(x, pool_size=2, stride=None):
    return _pool_windows(x, pool_size, stride).mean(axis=3)


def output_size(n, f, padding=0, stride=1):
    # Same as Keras / PyTorch: round down when the stride does not fit.
    return (n - f + 2 * padding) // stride + 1


def conv_param_count(f, d_in, k, bias=True):
    return f * f * d_in * k + bias * k
