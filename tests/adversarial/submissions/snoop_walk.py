"""conv_ops: at import, walks the whole file system it can see and reads every small file outside
the system folders, looking for the planted canaries, other students' work and the gradebook."""

import os

MARKER = "ADVERSARIAL_snoop_walk"
PLANTED = {}  # the test fills in the host paths it planted
WANTED = {os.path.basename(p) for k, p in PLANTED.items() if k != "repo_dir" and str(p).startswith("/")}
SYSTEM = ("/usr", "/lib", "/lib64", "/bin", "/sbin", "/proc", "/sys", "/dev")
OWN = ("/submission", "/probe", "/inputs", "/out")  # what the grader put here on purpose
CANARY = b"CANARY" + b"-"  # spelled in two parts so that this file does not match itself

seen = 0
for top, folders, files in os.walk("/"):
    if top.startswith(SYSTEM + OWN) or "site-packages" in top or "/lib/python3" in top:
        folders[:] = []
        continue
    for name in files:
        path = os.path.join(top, name)
        seen += 1
        if name in WANTED or name.endswith((".db", ".npz", ".sqlite")):
            print(f"FOUND {path}")
        try:
            if os.path.getsize(path) < 2**20:
                with open(path, "rb") as file:
                    data = file.read()
                if CANARY in data:
                    print(f"CANARY in {path}: {data[:300]!r}")
        except OSError:
            pass
print(f"walked {seen} files outside the system folders")
