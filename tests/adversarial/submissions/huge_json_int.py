"""conv_ops: writes an observations.json holding an integer of 5,000 digits, then exits. Python's json
refuses integers past 4,300 digits with a plain ValueError, which escaped read_json and stopped grading."""

import os

MARKER = "ADVERSARIAL_huge_json_int"

with open("/out/observations.json", "w") as file:
    file.write('{"errors": {}, "frameworks_loaded": [], "results": ' + "9" * 5000 + "}")
os._exit(0)
