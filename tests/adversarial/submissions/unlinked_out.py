"""conv_ops: at import, opens files in /out, deletes them, and keeps writing to them (each under the
single-file limit), then holds them open: a folder on the host's disk would fill unseen, since no
walk of it finds them."""

import errno
import os
import time

MARKER = "ADVERSARIAL_unlinked_out"

handles, written = [], 0
try:
    for number in range(20):
        handles.append(open(f"/out/invisible{number}", "wb"))
        os.unlink(f"/out/invisible{number}")
        for _ in range(192):
            handles[-1].write(b"x" * 2**20)
            handles[-1].flush()
            written += 2**20
except OSError as error:
    print(f"stopped after {written // 2**20} MiB: {errno.errorcode.get(error.errno, error.errno)}")
time.sleep(2)
