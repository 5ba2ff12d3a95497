"""conv_ops: at import, nests 1,500 folders in /out. shutil.rmtree recurses once per level, so the
grader's clean-up raised RecursionError (grading stopped, the tree stayed in the host's /tmp)."""

import os

MARKER = "ADVERSARIAL_deep_out"

os.chdir("/out")
for _ in range(1500):
    os.mkdir("d")
    os.chdir("d")
with open("bottom.txt", "w") as file:
    file.write(MARKER)
print(f"nested {os.getcwd().count('/d')} folders in /out")
os.chdir("/")
