"""conv_ops: at import, forks children that each stay under the per-process limit but together
hold far more memory than the sandbox is allowed."""

import os
import time

MARKER = "ADVERSARIAL_memory_bomb_forks"

for _ in range(6):
    if os.fork() == 0:
        hog = b"x" * 600 * 2**20
        time.sleep(3600)
time.sleep(3600)
