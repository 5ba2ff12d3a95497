"""`python -m grader`: grade, regrade and self-check submissions; history, extensions, exports, the worker."""

from __future__ import annotations

import argparse
import sys

from grader.cli import course, grading, history, reports, service
from grader.cli.options import GRADER_FAULT, USAGE_ERROR, configured
from grader.config import Config
from grader.data import DataError

VERBS = (grading, history, course, reports, service)
"""Each module adds its commands; the order is the order of `--help`."""


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args, configured(args, Config.from_env()))
    except (ValueError, LookupError) as error:
        # An unknown assignment or submission, a bad path, time or course file, a refused upload:
        # the user's mistake, said in one sentence, not a grader fault.
        print(f"error: {error.args[0] if isinstance(error, LookupError) and error.args else error}", file=sys.stderr)
        return USAGE_ERROR
    except DataError as error:  # no MNIST on this machine: the grader cannot work, and says how to fix it
        print(f"error: {error}", file=sys.stderr)
        return GRADER_FAULT


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    def add(name, run, help_text):
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(run=run)
        return command

    for verbs in VERBS:
        verbs.add_commands(add)
    return top
