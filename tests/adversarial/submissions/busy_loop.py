"""conv_ops: imports fine, then conv2d never returns."""

MARKER = "ADVERSARIAL_busy_loop"


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    while True:
        pass
