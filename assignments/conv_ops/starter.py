"""
Title: Convolution and pooling in NumPy
Assignment: conv_ops (assignment 1)

Write the operations behind a ConvNet layer with NumPy alone: `conv2d` as Keras's
Conv2D computes it (cross-correlation), `convolve2d` (true convolution, kernel
flipped), max and average pooling, and the size and parameter arithmetic from the
lecture. Replace every `raise NotImplementedError` with your code.

Rules: NumPy only. Importing tensorflow, keras, torch, jax or scipy anywhere in
this file (even under `if __name__ == "__main__":`) scores zero on every check.

Self-check: python -m grader check starter.py --assignment conv_ops
"""

import numpy as np

"""
## Convolution
"""


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, as a Keras Conv2D layer computes it (channels last).

    No kernel flip: y[n, i, j, o] = sum over u, v, c of
    w[u, v, c, o] * x_padded[n, i * sh + u * dh, j * sw + v * dw, c] (+ b[o]).

    Args:
        x: input of shape (N, H, W, C_in).
        w: kernel of shape (KH, KW, C_in // groups, C_out), the layout of
            `keras.layers.Conv2D.kernel`.
        b: bias of shape (C_out,), or None for no bias.
        stride: int or pair (sh, sw).
        padding: int or pair (ph, pw) of zero padding on each side; "valid"
            (no padding) or "same" (output size ceil(H / sh); when the total
            padding is odd, the extra row/column goes at the bottom/right).
        dilation: int or pair (dh, dw): kernel taps are `dilation` pixels apart.
        groups: input and output channels are split into `groups` equal groups;
            output group g sees only input group g.

    Returns:
        Float array of shape (N, H_out, W_out, C_out) with
        H_out = (H + pad_top + pad_bottom - dh * (KH - 1) - 1) // sh + 1
        (the same for W_out).
    """
    # TODO: turn stride, padding and dilation into (height, width) pairs, pad x with
    # zeros, then slide the kernel. Handle groups by running each group on its own
    # slice of channels. Start with stride 1, no padding, groups 1: worked example 1.
    raise NotImplementedError("TODO: conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1)")


def convolve2d(x, k):
    """True 2-D convolution of a single-channel image, "valid" mode.

    The kernel is rotated by 180 degrees first: convolve2d(x, k) equals
    cross-correlation of x with k[::-1, ::-1].

    Args:
        x: 2-D array of shape (H, W).
        k: 2-D kernel of shape (KH, KW), no larger than x.

    Returns:
        Array of shape (H - KH + 1, W - KW + 1).
    """
    # TODO: flip the kernel and reuse your conv2d (mind the shapes it expects).
    raise NotImplementedError("TODO: convolve2d(x, k)")


"""
## Pooling
"""


def max_pool2d(x, pool_size=2, stride=None):
    """Max pooling as keras.layers.MaxPooling2D(padding="valid") computes it.

    Args:
        x: input of shape (N, H, W, C).
        pool_size: int or pair (ph, pw).
        stride: int or pair (sh, sw); None means the same as `pool_size`.

    Returns:
        Array of shape (N, (H - ph) // sh + 1, (W - pw) // sw + 1, C).
    """
    # TODO
    raise NotImplementedError("TODO: max_pool2d(x, pool_size=2, stride=None)")


def avg_pool2d(x, pool_size=2, stride=None):
    """Average pooling as keras.layers.AveragePooling2D(padding="valid") computes it.

    Same arguments and output shape as `max_pool2d`; float output.
    """
    # TODO
    raise NotImplementedError("TODO: avg_pool2d(x, pool_size=2, stride=None)")


"""
## Sizes and parameters
"""


def output_size(n, f, padding=0, stride=1):
    """Output width (or height) of a convolution: W2 = (W1 - F + 2P) / S + 1.

    Args:
        n: input size W1.
        f: filter size F.
        padding: zero padding P on each side.
        stride: stride S.

    Returns:
        W2 as an int.

    Raises:
        ValueError: when S does not divide W1 - F + 2P (the lecture calls
            N=7, F=3, S=3 invalid: 2.33), or the filter does not fit.
    """
    # TODO
    raise NotImplementedError("TODO: output_size(n, f, padding=0, stride=1)")


def conv_param_count(f, d_in, k, bias=True):
    """Trainable parameters of a conv layer with k filters of size f x f x d_in.

    Returns:
        (f * f * d_in) * k weights, plus k biases when `bias` is true, as an int.
    """
    # TODO
    raise NotImplementedError("TODO: conv_param_count(f, d_in, k, bias=True)")


"""
## Try it on the lecture's worked example 1
"""

if __name__ == "__main__":
    # conv2d wants (N, H, W, C_in) images and (KH, KW, C_in, C_out) kernels:
    # add the batch and channel axes around the 2-D example.
    image = np.array([[2, 10, 8], [5, 15, 20], [6, 11, 9]], dtype=np.float64)
    kernel = np.array([[1, 8], [-5, 6]], dtype=np.float64)
    print("conv2d     ->", conv2d(image[None, :, :, None], kernel[:, :, None, None])[0, :, :, 0].tolist(),
          "expected [[147, 119], [161, 174]]")
    print("convolve2d ->", convolve2d(image, kernel).tolist(), "expected [[17, 160], [14, 87]]")
    print("output_size(7, 3, 0, 2) ->", output_size(7, 3, 0, 2), "expected 3")
    print("conv_param_count(5, 3, 10) ->", conv_param_count(5, 3, 10), "expected 760")
