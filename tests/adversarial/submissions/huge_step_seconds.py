"""conv_ops: writes an observations.json whose step timings hold an integer of 400 digits, then exits.
The grader turned every timing into a float, and float() of that raised OverflowError."""

import os

MARKER = "ADVERSARIAL_huge_step_seconds"

with open("/out/observations.json", "w") as file:
    file.write('{"errors": {}, "frameworks_loaded": [], "results": {}, "seconds": {"import": 1' + "0" * 400 + "}}")
os._exit(0)
