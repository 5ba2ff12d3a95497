"""What every command shares: the gradebook and course options, the envelope options, the progress bar."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from grader.assignment import Assignment
from grader.config import Config, EnvelopeOverrides
from grader.grading import phase_envelope
from grader.intake import parse_time
from grader.sandbox import available_cores, parse_size

USAGE_ERROR = 2
GRADER_FAULT = 1


def add_store_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--db", help="gradebook URL (default: GRADER_DB_URL, else var/grades.db)")
    command.add_argument("--course", type=Path, metavar="FILE",
                         help="the course's policy (default: GRADER_COURSE, else course.toml at the repository "
                              "root if there is one, else no deadlines)")


def add_envelope_options(command: argparse.ArgumentParser) -> None:
    group = command.add_argument_group("resource envelope (every phase; default: what the assignment declares)")
    group.add_argument("--timeout", type=float, metavar="S",
                       help="time budget of every phase: S seconds of work on its cores (CPU time)")
    group.add_argument("--memory", metavar="SIZE", help="memory limit of every phase, e.g. 4G or 512M")
    group.add_argument("--cpus", type=int, metavar="N", help="cores every phase runs on, alone")


def iso_time(text: str) -> datetime:
    """An argparse type: an ISO-8601 time with its offset, refused with parse_time's own sentence."""
    try:
        return parse_time(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def configured(args: argparse.Namespace, config: Config) -> Config:
    """The configuration with what the command line changes in it."""
    changes = {}
    if getattr(args, "db", None):
        changes["db_url"] = args.db
    if getattr(args, "course", None):
        changes["course_file"] = args.course
    if hasattr(args, "timeout"):
        changes["overrides"] = _overrides(args)
    return dataclasses.replace(config, **changes)


def positive(value: int, name: str) -> int:
    if value < 1:
        raise ValueError(f"Expected a strictly positive value. Received {name}={value}.")
    return value


def machine_workers(requested: int, assignments: list[Assignment], config: Config) -> int:
    """How many submissions to grade at once: `requested`, capped (and said so, once) at what this
    machine holds, since a phase only starts once its cores are free."""
    cores = len(config.cores or available_cores())
    smallest = min(phase_envelope(p, config).cpus for a in assignments for p in a.phases)
    holds = max(1, cores // smallest)
    if requested > holds:
        print(f"--workers {requested}: this machine gives sandboxes {cores} core{'s' if cores != 1 else ''} and "
              f"every phase needs at least {smallest}, so at most {holds} phase{'s' if holds != 1 else ''} can run "
              f"at once; grading with {holds} worker{'s' if holds != 1 else ''}.", file=sys.stderr, flush=True)
    return min(requested, holds)


def _overrides(args) -> EnvelopeOverrides:
    if args.timeout is not None and not args.timeout > 0:
        raise ValueError(f"Expected a strictly positive value. Received --timeout={args.timeout}.")
    if args.cpus is not None and args.cpus < 1:
        raise ValueError(f"Expected a strictly positive value. Received --cpus={args.cpus}.")
    return EnvelopeOverrides(seconds=args.timeout, cpus=args.cpus,
                             memory_bytes=parse_size(args.memory) if args.memory else None)


class Progress:
    """A one-line-per-submission progress bar on standard error, safe from several threads."""

    def __init__(self, total: int):
        self.total, self.count, self.started = total, 0, time.perf_counter()
        self._lock = threading.Lock()

    def done(self, name: str, what: str) -> None:
        with self._lock:
            self.count += 1
            width = 24
            filled = width * self.count // max(self.total, 1)
            elapsed = time.perf_counter() - self.started
            print(f"[{'#' * filled}{'.' * (width - filled)}] {self.count}/{self.total} {elapsed:5.0f} s  {name}: {what}",
                  file=sys.stderr, flush=True)
