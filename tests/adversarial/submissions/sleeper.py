"""conv_ops: at import, sleeps for an hour."""

import time

MARKER = "ADVERSARIAL_sleeper"

time.sleep(3600)
