"""grader.submission.isolated: read_submission gives what load_submission gives, within limits, without stalling the grader."""

import json
import logging
import re
import subprocess
import sys
import threading
import time

import pytest

from grader.submission import ReaderUnavailable, ReadLimits, SubmissionError, load_submission, read_submission
from grader.submission import isolated
from tests.grader.submission.helpers import FIXTURES, assert_for_student, write_pathological

UPLOADS = sorted(path.name for path in FIXTURES.iterdir()) + ["does_not_exist.py"]


def outcome(read, path):
    try:
        return read(path, expected_functions=["build_model"])
    except SubmissionError as error:
        return f"{type(error).__name__}: {error}"


@pytest.mark.parametrize("fixture", UPLOADS)
def test_the_child_reads_every_fixture_as_the_loader_does(fixture):
    assert outcome(read_submission, FIXTURES / fixture) == outcome(load_submission, FIXTURES / fixture)


OVER_LIMITS = [
    # what is generated, limits, which limit stops it
    ("big", ReadLimits(), "1 GiB of memory: 5 MB of f(1) lines need 3.5 GB"),
    ("slow", ReadLimits(wall_seconds=1), "the wall clock: 5 MB of def lines compile for many minutes"),
    ("slow", ReadLimits(wall_seconds=30, cpu_seconds=1), "CPU time: the kernel ends the child with SIGXCPU"),
]


@pytest.mark.parametrize("kind, limits, why", OVER_LIMITS, ids=[row[2].split(":")[0] for row in OVER_LIMITS])
def test_a_pathological_file_is_refused_within_the_limits(tmp_path, kind, limits, why):
    path = write_pathological(tmp_path / "hw.py", kind)
    started = time.monotonic()
    with pytest.raises(SubmissionError) as caught:
        read_submission(path, limits=limits)
    assert str(caught.value) == (
        f"hw.py is too large or too complex for the grader to read within its limits ({limits}): "
        "submit only your code, without generated data or huge expressions."
    )
    assert time.monotonic() - started < limits.wall_seconds + 5


def test_a_small_submission_is_read_at_once_while_another_thread_reads_a_pathological_one(tmp_path):
    path = write_pathological(tmp_path / "hw.py", "slow")
    results = []
    slow = threading.Thread(target=lambda: results.append(
        outcome(lambda path, **options: read_submission(path, limits=ReadLimits(wall_seconds=3), **options), path)))
    slow.start()
    time.sleep(0.5)  # the child is parsing by now

    started = time.monotonic()
    small = read_submission(FIXTURES / "missing_function.py")
    elapsed = time.monotonic() - started

    assert slow.is_alive(), "the pathological read should still be running"
    assert small.defined_functions == {"build_modle"}
    assert elapsed < 1.0, f"a small read took {elapsed:.2f} s while another thread read a pathological file"
    slow.join()
    assert results[0].startswith("SubmissionError: hw.py is too large or too complex"), results


def test_the_child_runs_the_standard_library_only():
    # What a child imports before it reads anything: nothing from site-packages.
    command = isolated._command(FIXTURES / "empty.py", 100, ["build_model"], ReadLimits())
    assert command[0].endswith("prlimit")
    assert {"--as=1073741824", "--cpu=20", "--nofile=64", "--core=0"} <= set(command[:command.index("--")])
    python = command[command.index("--") + 1:]
    assert python[:7] == [sys.executable, "-E", "-s", "-S", "-B", "-m", "grader.submission.child"]
    probe = "import sys, grader.submission.child; print(sorted({name.split('.')[0] for name in sys.modules}))"
    loaded = json.loads(subprocess.run([*python[:5], "-c", probe.replace("'", '"')], cwd=isolated.REPO_ROOT,
                                       capture_output=True, text=True, check=True).stdout.replace("'", '"'))
    assert not {"numpy", "keras", "tensorflow", "torch", "jax", "sqlalchemy", "streamlit"} & set(loaded)


# --- what the grader does with a child that misbehaves ------------------------------------------

def fake_child(monkeypatch, script: str) -> None:
    """Replaces the child with a Python one-liner, as a crashed or broken reader would behave."""
    monkeypatch.setattr(isolated, "_command", lambda *arguments: [sys.executable, "-c", script])


SUBMISSION = {"source": "x = 1\n", "origin": "hw.py", "notes": [], "content_hash": "0" * 64,
              "defined_functions": [], "top_level_names": ["x"], "imported_modules": [], "cells": []}
CRASHED = r"^The grader stopped unexpectedly while reading hw\.py\. Upload it again; "
MISBEHAVING = [
    # what the child does, what the student reads
    ("print('not json')", CRASHED),
    ("import sys; sys.stdout.write('{\"submission\": '); sys.exit(1)", CRASHED),
    (f"print({json.dumps(json.dumps({'submission': SUBMISSION | {'content_hash': 'x'}}))})", CRASHED),
    (f"print({json.dumps(json.dumps({'submission': SUBMISSION | {'notes': [1]}}))})", CRASHED),
    (f"print({json.dumps(json.dumps({'submission': SUBMISSION | {'source': chr(0xD800)}}))})", CRASHED),
    (f"print({json.dumps(json.dumps({'submission': SUBMISSION, 'extra': 1}))})", CRASHED),
    (f"print({json.dumps(json.dumps({'submission': SUBMISSION | {'cells': [[1, 3], [2, 1]]}}))})", CRASHED),
    (f"print({json.dumps(json.dumps({'submission': SUBMISSION | {'cells': [[1, True]]}}))})", CRASHED),
    ("print('[' * 100000)", CRASHED),
    # The reply may be ten times the upload's 2 MiB limit, and 1 MiB more.
    ("print('x' * 22 * 2**20)", r"^hw\.py is too large or too complex for the grader to read within its limits"),
    ("import time; time.sleep(30)", r"^hw\.py is too large or too complex for the grader to read within its limits \(1 s, "),
    ("import sys; sys.stderr.write('MemoryError\\n'); sys.exit(1)", r"^hw\.py is too large or too complex"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGXCPU)", r"^hw\.py is too large or too complex"),
    (f"print({json.dumps(json.dumps({'error': chr(27) + '[2J everything is fine'}))})", r"^\\x1b\[2J everything is fine$"),
]


@pytest.mark.parametrize("script, message", MISBEHAVING, ids=[row[0][:40] for row in MISBEHAVING])
def test_a_child_that_misbehaves_gives_a_sentence_not_an_exception(monkeypatch, tmp_path, script, message):
    fake_child(monkeypatch, script)
    (tmp_path / "hw.py").write_text("x = 1\n")
    with pytest.raises(SubmissionError, match=message) as caught:
        read_submission(tmp_path / "hw.py", max_bytes=2 * 2**20, limits=ReadLimits(wall_seconds=1))
    assert_for_student(str(caught.value))


def test_strings_from_the_child_are_made_safe_but_the_source_is_not(monkeypatch, tmp_path):
    reply = {"submission": SUBMISSION | {"source": "x = '\x1b'\n", "origin": "hw\x1b[2J.py", "notes": ["\x9b31m red"]}}
    fake_child(monkeypatch, f"print({json.dumps(json.dumps(reply))})")
    submission = read_submission(tmp_path / "hw.py")
    assert (submission.source, submission.origin, submission.notes) == ("x = '\x1b'\n", "hw\\x1b[2J.py", ("\\x9b31m red",))
    assert submission.top_level_names == {"x"}


def test_what_the_child_wrote_to_stderr_goes_to_the_grader_log(monkeypatch, tmp_path, caplog):
    fake_child(monkeypatch, "import sys; sys.stderr.write('Traceback: something broke\\x1b[2J'); sys.exit(3)")
    with caplog.at_level(logging.WARNING, logger=isolated.__name__):
        with pytest.raises(SubmissionError, match=CRASHED):
            read_submission(tmp_path / "hw.py")
    assert "Traceback: something broke\\x1b[2J" in caplog.text
    assert "exited with 3 and no usable reply" in caplog.text


def test_a_reader_that_cannot_start_is_the_grader_s_fault(monkeypatch, tmp_path):
    monkeypatch.setattr(isolated, "_command", lambda *arguments: [str(tmp_path / "no-such-program")])
    with pytest.raises(ReaderUnavailable, match=r"^The grader could not start reading hw\.py \(a problem on the "
                                                r"grader's side, not with your file\)\."):
        read_submission(tmp_path / "hw.py")


@pytest.mark.parametrize("limits, shown", [
    (ReadLimits(), "20 s, 1 GiB"), (ReadLimits(wall_seconds=2.5, memory_bytes=256 * 2**20), "2.5 s, 256 MiB"),
])
def test_limits_read_as_the_student_sees_them(limits, shown):
    assert str(limits) == shown


@pytest.mark.parametrize("changes, message", [
    ({"wall_seconds": 0}, "Expected a strictly positive number. Received wall_seconds=0."),
    ({"wall_seconds": float("nan")}, "Expected a strictly positive number. Received wall_seconds=nan."),
    ({"cpu_seconds": 1.5}, "Expected a strictly positive integer. Received cpu_seconds=1.5."),
    ({"memory_bytes": True}, "Expected a strictly positive integer. Received memory_bytes=True."),
])
def test_limits_are_checked_when_made(changes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ReadLimits(**changes)
