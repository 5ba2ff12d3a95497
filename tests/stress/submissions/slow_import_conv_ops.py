"""conv_ops whose import takes a minute: a job that is surely mid-grading when its worker is killed."""

import time

time.sleep(60)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return 0
