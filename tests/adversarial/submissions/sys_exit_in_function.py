"""conv_ops: imports fine; the first call of conv2d raises SystemExit(0)."""

import sys

MARKER = "ADVERSARIAL_sys_exit_in_function"


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    sys.exit(0)
