# Homework 1 -- Wang Fang
# I wrote conv2d with plain loops over the output pixels, exactly like the formula
# on the slide: y[i, j] = sum_u sum_v w[u, v] * x[i + u, j + v].
# The sum over (u, v, channel) for one pixel is a np.tensordot.
import numpy as np


def to_tuple(v):
    if type(v) in (tuple, list):
        return tuple(v)
    return (v, v)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    x = np.array(x, dtype=float)
    w = np.array(w, dtype=float)
    N, H, W, C = x.shape
    KH, KW, Cg, K = w.shape
    sh, sw = to_tuple(stride)
    dh, dw = to_tuple(dilation)

    # padding
    if padding == "valid":
        top = bottom = left = right = 0
    elif padding == "same":
        out_h = (H + sh - 1) // sh
        out_w = (W + sw - 1) // sw
        total_h = max((out_h - 1) * sh + dh * (KH - 1) + 1 - H, 0)
        total_w = max((out_w - 1) * sw + dw * (KW - 1) + 1 - W, 0)
        top, left = total_h // 2, total_w // 2
        bottom, right = total_h - top, total_w - left  # extra pixel goes bottom/right (like TF)
    else:
        ph, pw = to_tuple(padding)
        top = bottom = ph
        left = right = pw
    xp = np.zeros((N, H + top + bottom, W + left + right, C))
    xp[:, top:top + H, left:left + W, :] = x

    out_h = (xp.shape[1] - dh * (KH - 1) - 1) // sh + 1
    out_w = (xp.shape[2] - dw * (KW - 1) - 1) // sw + 1
    Kg = K // groups
    y = np.zeros((N, out_h, out_w, K))
    for i in range(out_h):
        for j in range(out_w):
            r, c = i * sh, j * sw
            patch = xp[:, r:r + dh * (KH - 1) + 1:dh, c:c + dw * (KW - 1) + 1:dw, :]  # (N, KH, KW, C)
            for g in range(groups):
                p = patch[:, :, :, g * Cg:(g + 1) * Cg]
                y[:, i, j, g * Kg:(g + 1) * Kg] = np.tensordot(p, w[:, :, :, g * Kg:(g + 1) * Kg],
                                                               axes=([1, 2, 3], [0, 1, 2]))
    if b is not None:
        y += np.array(b, dtype=float)
    return y


def convolve2d(x, k):
    x = np.array(x, dtype=float)
    k = np.array(k, dtype=float)
    KH, KW = k.shape
    flipped = k[::-1, ::-1]
    y = np.zeros((x.shape[0] - KH + 1, x.shape[1] - KW + 1))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = np.sum(x[i:i + KH, j:j + KW] * flipped)
    return y


def pool(x, pool_size, stride, reduce):
    x = np.array(x)
    ph, pw = to_tuple(pool_size)
    if stride is None:
        stride = pool_size
    sh, sw = to_tuple(stride)
    N, H, W, C = x.shape
    out_h = (H - ph) // sh + 1
    out_w = (W - pw) // sw + 1
    y = np.zeros((N, out_h, out_w, C))
    for i in range(out_h):
        for j in range(out_w):
            y[:, i, j, :] = reduce(x[:, i * sh:i * sh + ph, j * sw:j * sw + pw, :], axis=(1, 2))
    return y


def max_pool2d(x, pool_size=2, stride=None):
    return pool(x, pool_size, stride, np.max)


def avg_pool2d(x, pool_size=2, stride=None):
    return pool(x, pool_size, stride, np.mean)


def output_size(n, f, padding=0, stride=1):
    if (n - f + 2 * padding) % stride != 0:
        raise ValueError("invalid: stride does not divide W1 - F + 2P")
    return (n - f + 2 * padding) // stride + 1


def conv_param_count(f, d_in, k, bias=True):
    params = f * f * d_in * k
    if bias:
        params += k
    return params
