"""conv_ops: at import, tries to write outside the sandbox: home, the host /tmp, the project, the
gradebook, the sentinel, and the folders the grader mounts read-only."""

import os

MARKER = "ADVERSARIAL_write_outside"
PLANTED = {}  # the test fills in the host paths it planted

targets = [
    "/tmp/ADVERSARIAL_write_outside", os.path.expanduser("~/ADVERSARIAL_write_outside"),
    "/root/ADVERSARIAL_write_outside", "/work/main/ADVERSARIAL_write_outside",
    "/work/main/var/grades.db", "/submission/submission.py", "/probe/driver.py",
    "/inputs/args.json", "/usr/ADVERSARIAL_write_outside", "/ADVERSARIAL_write_outside",
    "/out/../ADVERSARIAL_write_outside",
]
for key in ("sentinel", "gradebook", "repo_file", "data_file", "host_tmp_file", "home_file"):
    if key in PLANTED:
        targets.append(PLANTED[key])
if "repo_dir" in PLANTED:
    targets.append(os.path.join(PLANTED["repo_dir"], MARKER))
for path in targets:
    try:
        with open(path, "a") as file:
            file.write(f"owned by {MARKER}\n")
        print(f"WROTE {path}")
    except OSError as error:
        print(f"BLOCKED {path} {type(error).__name__}")
for path in [PLANTED.get("sentinel", "/x"), "/probe/driver.py"]:
    for attempt, action in (("unlink", os.unlink), ("chmod", lambda p: os.chmod(p, 0o777))):
        try:
            action(path)
            print(f"DID {attempt} {path}")
        except OSError as error:
            print(f"BLOCKED {attempt} {path} {type(error).__name__}")
