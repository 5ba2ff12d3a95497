"""NumPy reference for the operations assignment: convolution, pooling and their size arithmetic."""

import numbers

import numpy as np


def _is_int(value):
    """True for Python and NumPy integers; False for bool, which is a bug in the caller."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _bound(minimum):
    return "strictly positive" if minimum == 1 else "non-negative"


def _int_arg(value, name, minimum):
    """Return `value` as an int, or raise ValueError unless it is an int >= `minimum` (0 or 1)."""
    if not _is_int(value) or value < minimum:
        raise ValueError(
            f"Expected {name} to be a {_bound(minimum)} int. Received {name}={value!r}."
        )
    return int(value)


def _pair(value, name, minimum=1):
    """Normalise an int or a pair of ints to a (height, width) tuple, each >= `minimum` (0 or 1)."""
    pair = (value, value) if _is_int(value) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(_is_int(v) and v >= minimum for v in pair)
    ):
        raise ValueError(
            f"Expected {name} to be a {_bound(minimum)} int or a pair of them. "
            f"Received {name}={value!r}."
        )
    return tuple(int(v) for v in pair)


def _float_dtype(*arrays):
    """Result dtype of arithmetic on `arrays`; integer and bool inputs give float64."""
    dtype = np.result_type(*arrays)
    return dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float64)


def _same_padding(size, kernel, stride, dilation):
    """(before, after) zero padding of Keras/TensorFlow padding="same" along one axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    # TensorFlow puts the odd pixel at the bottom/right; students comparing with Keras rely on it.
    return total // 2, total - total // 2


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation as computed by a Keras Conv2D layer (channels last).

    Args:
        x: input of shape (N, H, W, C_in).
        w: kernel of shape (KH, KW, C_in // groups, C_out), the layout of
            `keras.layers.Conv2D.kernel`.
        b: bias of shape (C_out,), or None for no bias.
        stride: int or pair (sh, sw).
        padding: int or pair (ph, pw) of symmetric zero padding; "valid" (no
            padding) or "same" (Keras meaning: output size ceil(H / sh), the
            odd padding pixel at the bottom/right).
        dilation: int or pair (dh, dw); kernel taps are `dilation` pixels apart.
        groups: the channels are split into `groups` groups; output channels
            g * C_out // groups ... (g + 1) * C_out // groups - 1 see only input
            channels g * C_in // groups ... (g + 1) * C_in // groups - 1.

    Returns:
        Array of shape (N, H_out, W_out, C_out) with
        H_out = floor((H + pad_top + pad_bottom - ((KH - 1) * dh + 1)) / sh) + 1
        (the same for W_out). Its dtype follows np.result_type of the inputs,
        float64 for integer inputs.

    Raises:
        ValueError: for arguments of the wrong shape or value, and when the
            dilated kernel is larger than the padded input.
    """
    x = np.asarray(x)
    w = np.asarray(w)
    if x.ndim != 4:
        raise ValueError(
            f"Expected x with 4 dimensions (N, H, W, C_in). Received x.shape={x.shape}."
        )
    if w.ndim != 4:
        raise ValueError(
            "Expected w with 4 dimensions (KH, KW, C_in // groups, C_out). "
            f"Received w.shape={w.shape}."
        )
    groups = _int_arg(groups, "groups", 1)
    n, height, width, c_in = x.shape
    kh, kw, c_group, c_out = w.shape
    if c_in % groups:
        raise ValueError(
            f"Expected C_in divisible by groups. Received C_in={c_in} "
            f"(x.shape={x.shape}) and groups={groups}."
        )
    if c_out % groups:
        raise ValueError(
            f"Expected C_out divisible by groups. Received C_out={c_out} "
            f"(w.shape={w.shape}) and groups={groups}."
        )
    if c_group != c_in // groups:
        raise ValueError(
            f"Expected w.shape[2] == C_in // groups = {c_in} // {groups} = {c_in // groups}. "
            f"Received w.shape={w.shape}."
        )
    if kh == 0 or kw == 0:
        raise ValueError(f"Expected a kernel of at least 1x1. Received w.shape={w.shape}.")
    if b is not None:
        b = np.asarray(b)
        if b.shape != (c_out,):
            raise ValueError(
                f"Expected b with shape (C_out,) = ({c_out},). Received b.shape={b.shape}."
            )
    sh, sw = _pair(stride, "stride")
    dh, dw = _pair(dilation, "dilation")

    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            pads = ((0, 0), (0, 0))
        elif mode == "same":
            pads = (_same_padding(height, kh, sh, dh), _same_padding(width, kw, sw, dw))
        else:
            raise ValueError(
                'Expected padding to be an int, a pair of ints, "valid" or "same". '
                f"Received padding={padding!r}."
            )
    else:
        ph, pw = _pair(padding, "padding", minimum=0)
        pads = ((ph, ph), (pw, pw))

    span_h = (kh - 1) * dh + 1
    span_w = (kw - 1) * dw + 1
    padded_h = height + sum(pads[0])
    padded_w = width + sum(pads[1])
    if span_h > padded_h or span_w > padded_w:
        raise ValueError(
            f"Expected the kernel to fit in the padded input. Received a {kh}x{kw} kernel "
            f"with dilation ({dh}, {dw}), spanning {span_h}x{span_w}, on an input of "
            f"{height}x{width} padded to {padded_h}x{padded_w}."
        )
    out_h = (padded_h - span_h) // sh + 1
    out_w = (padded_w - span_w) // sw + 1

    dtype = _float_dtype(x, w) if b is None else _float_dtype(x, w, b)
    xp = np.pad(x.astype(dtype, copy=False), ((0, 0), *pads, (0, 0)))
    # Each group is an independent matmul; a batched matmul over the group axis
    # keeps groups=1 and grouped convolution on the same BLAS path.
    c_out_group = c_out // groups
    kernel = w.astype(dtype, copy=False).reshape(kh, kw, c_group, groups, c_out_group)
    kernel = kernel.transpose(0, 1, 3, 2, 4)
    acc = np.zeros((groups, n * out_h * out_w, c_out_group), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            rows = slice(top, top + (out_h - 1) * sh + 1, sh)
            cols = slice(left, left + (out_w - 1) * sw + 1, sw)
            patch = xp[:, rows, cols, :]
            patch = patch.reshape(-1, groups, c_group).transpose(1, 0, 2)
            acc += patch @ kernel[i, j]
    out = acc.transpose(1, 0, 2).reshape(n, out_h, out_w, c_out)
    if b is not None:
        out += b
    return out


def convolve2d(x, k):
    """True 2-D convolution (kernel rotated by 180 degrees), "valid" mode.

    Args:
        x: 2-D array of shape (H, W).
        k: 2-D kernel of shape (KH, KW), at most as large as `x`.

    Returns:
        Array of shape (H - KH + 1, W - KW + 1) with
        y[i, j] = sum_u sum_v k[u, v] * x[i + KH - 1 - u, j + KW - 1 - v].
    """
    x = np.asarray(x)
    k = np.asarray(k)
    if x.ndim != 2:
        raise ValueError(f"Expected x with 2 dimensions (H, W). Received x.shape={x.shape}.")
    if k.ndim != 2:
        raise ValueError(f"Expected k with 2 dimensions (KH, KW). Received k.shape={k.shape}.")
    if k.shape[0] > x.shape[0] or k.shape[1] > x.shape[1]:
        raise ValueError(
            "Expected a kernel no larger than the input in valid mode. "
            f"Received k.shape={k.shape} and x.shape={x.shape}."
        )
    # Convolution is cross-correlation with the flipped kernel (lecture 1).
    flipped = k[::-1, ::-1]
    return conv2d(x[None, :, :, None], flipped[:, :, None, None])[0, :, :, 0]


def _pool_windows(x, pool_size, stride):
    """Strided view of shape (N, H_out, W_out, C, PH, PW) over the valid pooling windows of x."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"Expected x with 4 dimensions (N, H, W, C). Received x.shape={x.shape}.")
    ph, pw = _pair(pool_size, "pool_size")
    sh, sw = _pair(pool_size if stride is None else stride, "stride")
    if ph > x.shape[1] or pw > x.shape[2]:
        raise ValueError(
            f"Expected a pooling window no larger than the input. Received pool_size=({ph}, {pw}) "
            f"and x.shape={x.shape}."
        )
    windows = np.lib.stride_tricks.sliding_window_view(x, (ph, pw), axis=(1, 2))
    return windows[:, ::sh, ::sw]


def max_pool2d(x, pool_size=2, stride=None):
    """Max pooling as keras.layers.MaxPooling2D(padding="valid") computes it.

    Args:
        x: input of shape (N, H, W, C).
        pool_size: int or pair (ph, pw).
        stride: int or pair (sh, sw); None means `pool_size`.

    Returns:
        Array of shape (N, floor((H - ph) / sh) + 1, floor((W - pw) / sw) + 1, C)
        and the dtype of `x`.
    """
    return _pool_windows(x, pool_size, stride).max(axis=(-2, -1))


def avg_pool2d(x, pool_size=2, stride=None):
    """Average pooling as keras.layers.AveragePooling2D(padding="valid") computes it.

    Args:
        x: input of shape (N, H, W, C).
        pool_size: int or pair (ph, pw).
        stride: int or pair (sh, sw); None means `pool_size`.

    Returns:
        Array of shape (N, floor((H - ph) / sh) + 1, floor((W - pw) / sw) + 1, C);
        float64 for integer input, otherwise the dtype of `x`.
    """
    # np.mean already gives float64 for integer input and keeps float dtypes.
    return _pool_windows(x, pool_size, stride).mean(axis=(-2, -1))


def output_size(n, f, padding=0, stride=1):
    """Output width (or height) of a convolution, W2 = (W1 - F + 2P) / S + 1.

    Args:
        n: input size W1.
        f: filter size F.
        padding: zero padding P on each side.
        stride: stride S.

    Returns:
        W2 as an int.

    Raises:
        ValueError: when an argument is out of range, when the filter is larger
            than the padded input, or when the stride does not divide
            W1 - F + 2P (the lecture calls such a setting invalid; frameworks
            silently floor it).
    """
    n = _int_arg(n, "n", 1)
    f = _int_arg(f, "f", 1)
    padding = _int_arg(padding, "padding", 0)
    stride = _int_arg(stride, "stride", 1)
    span = n - f + 2 * padding
    if span < 0:
        raise ValueError(
            f"Expected a filter no larger than the padded input. Received f={f} and "
            f"n + 2*padding = {n} + 2*{padding} = {n + 2 * padding}."
        )
    if span % stride:
        raise ValueError(
            f"({n} - {f} + 2*{padding}) / {stride} = {span / stride:.2f} is not an integer: "
            f"stride {stride} does not fit a filter of size {f} on an input of size {n} "
            f"with padding {padding} (the output size would be {span / stride + 1:.2f}; "
            f"frameworks floor it to {span // stride + 1})."
        )
    return span // stride + 1


def conv_param_count(f, d_in, k, bias=True):
    """Trainable parameters of a conv layer with k filters of size f x f x d_in.

    Returns:
        (f * f * d_in) * k weights, plus k biases when `bias` is true.
    """
    f = _int_arg(f, "f", 1)
    d_in = _int_arg(d_in, "d_in", 1)
    k = _int_arg(k, "k", 1)
    return f * f * d_in * k + (k if bias else 0)
