"""conv_ops: at import, stops itself with SIGSTOP: it neither runs nor exits."""

import os
import signal

MARKER = "ADVERSARIAL_sigstop"

os.kill(os.getpid(), signal.SIGSTOP)
