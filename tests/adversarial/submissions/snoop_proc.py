"""conv_ops: at import, reads /proc of every process it can see (the host grader's command line and
environment would hold the test's canary), and the kernel's view of the mounts."""

import os

MARKER = "ADVERSARIAL_snoop_proc"
PLANTED = {}

pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print(f"PIDS {pids}")
for pid in pids:
    for name in ("cmdline", "environ", "status"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as file:
                print(f"PROC {pid} {name} {file.read(4000)!r}")
        except OSError as error:
            print(f"BLOCKED /proc/{pid}/{name} {type(error).__name__}")
for path in ("/proc/1/root/etc/shadow", "/proc/1/cwd", "/proc/self/mountinfo"):
    try:
        if os.path.isdir(path):
            print(f"LISTED {path} {os.listdir(path)}")
        else:
            with open(path, "rb") as file:
                print(f"READ {path} {file.read(4000)!r}")
    except OSError as error:
        print(f"BLOCKED {path} {type(error).__name__}")
