"""Entry point of `python -m grader`."""

import os
import sys

# TensorFlow prints C++ start-up banners on import unless told not to; they are noise here.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from grader.cli import main  # noqa: E402  (after the environment is set)

sys.exit(main())
