"""conv_ops: ends the process with os._exit(0) at import, before the grader has any result."""

import os

MARKER = "ADVERSARIAL_os_exit_import"

os._exit(0)
