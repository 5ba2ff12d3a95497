"""conv_ops: imports fine; the first call of conv2d ends the process with os._exit(0)."""

import os

MARKER = "ADVERSARIAL_os_exit_in_function"


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    os._exit(0)
