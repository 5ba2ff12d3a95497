"""
Assignment 1: convolution and pooling in NumPy
Student: Li Wei

Everything is vectorised with sliding windows: each output pixel's receptive
field becomes one entry of a strided view of the (padded) input, and one einsum
does all the multiply-adds at once.
"""

import numpy as np


def _pair(value):
    """3 -> (3, 3); (1, 2) -> (1, 2)."""
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _same_padding(size, kernel, stride, dilation):
    """(before, after) like TensorFlow: output ceil(size / stride), odd pixel at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n, height, width, c_in = x.shape
    kh, kw, c_group, c_out = w.shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    if c_in != c_group * groups or c_out % groups:
        raise ValueError(f"channels do not split into {groups} groups: x {x.shape}, w {w.shape}")

    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif padding == "same":
        pads = (_same_padding(height, kh, sh, dh), _same_padding(width, kw, sw, dw))
    else:
        ph, pw = _pair(padding)
        pads = ((ph, ph), (pw, pw))
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))

    # The dilated kernel covers span_h x span_w pixels; take every dh-th / dw-th of them.
    span_h, span_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    windows = np.lib.stride_tricks.sliding_window_view(x, (span_h, span_w), axis=(1, 2))
    windows = windows[:, ::sh, ::sw, :, ::dh, ::dw]  # (N, H_out, W_out, C_in, KH, KW)
    out_h, out_w = windows.shape[1:3]

    # Split the channels into groups: group g of the output only sees group g of the input.
    windows = windows.reshape(n, out_h, out_w, groups, c_group, kh, kw)
    kernel = w.reshape(kh, kw, c_group, groups, c_out // groups)
    out = np.einsum("nhwgcij,ijcgo->nhwgo", windows, kernel, optimize=True)
    out = out.reshape(n, out_h, out_w, c_out)
    if b is not None:
        out = out + np.asarray(b, dtype=np.float64)
    return out


def convolve2d(x, k):
    # True convolution = cross-correlation with the kernel turned by 180 degrees.
    k = np.asarray(k, dtype=np.float64)[::-1, ::-1]
    return conv2d(np.asarray(x)[None, :, :, None], k[:, :, None, None])[0, :, :, 0]


def _windows(x, pool_size, stride):
    ph, pw = _pair(pool_size)
    sh, sw = _pair(pool_size if stride is None else stride)
    view = np.lib.stride_tricks.sliding_window_view(np.asarray(x), (ph, pw), axis=(1, 2))
    return view[:, ::sh, ::sw]


def max_pool2d(x, pool_size=2, stride=None):
    return _windows(x, pool_size, stride).max(axis=(-2, -1))


def avg_pool2d(x, pool_size=2, stride=None):
    return _windows(x, pool_size, stride).mean(axis=(-2, -1))


def output_size(n, f, padding=0, stride=1):
    span = n - f + 2 * padding
    if span < 0 or span % stride != 0:
        raise ValueError(f"({n} - {f} + 2*{padding}) / {stride} is not a whole number: invalid setting")
    return span // stride + 1


def conv_param_count(f, d_in, k, bias=True):
    return f * f * d_in * k + (k if bias else 0)


if __name__ == "__main__":
    x = np.array([[2, 10, 8], [5, 15, 20], [6, 11, 9]], float)[None, :, :, None]
    w = np.array([[1, 8], [-5, 6]], float)[:, :, None, None]
    print(conv2d(x, w)[0, :, :, 0])  # [[147, 119], [161, 174]]
