"""The child process of read_submission: loads one submission and prints it, or why not, as one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grader.submission.isolated import to_reply
from grader.submission.loader import load_submission
from grader.submission.record import SubmissionError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m grader.submission.child", description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--max-bytes", type=int, required=True)
    parser.add_argument("--expect", action="append", default=[], help="a function the assignment calls")
    arguments = parser.parse_args(argv)
    try:
        outcome = load_submission(arguments.path, max_bytes=arguments.max_bytes, expected_functions=arguments.expect)
    except SubmissionError as error:
        outcome = error
    # ensure_ascii: every string is written as ASCII escapes, so even one that UTF-8 cannot encode
    # reaches the grader, which decides what to do with it.
    sys.stdout.buffer.write(json.dumps(to_reply(outcome)).encode("ascii"))


if __name__ == "__main__":
    main()
