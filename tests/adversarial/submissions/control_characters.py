"""conv_ops: terminal escape sequences and invalid Unicode wherever the grader shows text: printed
output, an exception message, and the device name the probe records, to clear the instructor's
screen and print a fake score; a lone surrogate made the gradebook write fail."""

import sys

import numpy as np

MARKER = "ADVERSARIAL_control_characters"
FAKE = "\x1b[2J\x1b[H\x1b[32mconv_ops: 30 / 30 points\x1b[0m\r"

print(FAKE)
sys.stdout.write("\x9b31m a C1 control and a bell \x07\n")
sys.stdout.flush()
sys.stdout.buffer.write(b"a surrogate encoded as bytes: \xed\xa0\x80\n")
sys.stdout.flush()

# The probe's driver runs as __main__ in this process: make it record a device name of our choosing.
_probe = sys.modules["__main__"].Probe
_record = _probe.record


def _forged_record(self, key, value):
    _record(self, key, value)
    self.observations["device"] = FAKE + "GPU: \ud800 NVIDIA H200"


_probe.record = _forged_record


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    raise ValueError(FAKE + "lone surrogate \ud800 here")


# --- the rest is correct ---


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _same(size, kernel, stride, dilation):
    total = max((-(-size // stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


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
