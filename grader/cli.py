"""`python -m grader`: grade one submission or a class, self-check, export, run a worker, import a roster."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import os
import socket
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.assignment import Assignment, assignment_names, load_assignment
from grader.config import Config, EnvelopeOverrides
from grader.data import DataError
from grader.feedback import format_report
from grader.grading import grade, grader_version, phase_envelope
from grader.results import GradingReport
from grader.present import size_text
from grader.sandbox import available_cores, parse_size
from grader.text import safe_text

USAGE_ERROR = 2
GRADER_FAULT = 1
SUBMISSION_SUFFIXES = {".py", ".ipynb", ".zip"}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    config = Config.from_env()
    if getattr(args, "db", None):
        config = dataclasses.replace(config, db_url=args.db)
    try:
        if hasattr(args, "timeout"):
            config = dataclasses.replace(config, overrides=_overrides(args))
        return args.run(args, config)
    except ValueError as error:  # unknown assignment, bad path: the user's mistake, not a grader fault
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except DataError as error:  # no MNIST on this machine: the grader cannot work, and says how to fix it
        print(f"error: {error}", file=sys.stderr)
        return GRADER_FAULT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, run, help_text):
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(run=run)
        return command

    def envelope_options(command):
        group = command.add_argument_group("resource envelope (every phase; default: what the assignment declares)")
        group.add_argument("--timeout", type=float, metavar="S",
                           help="time budget of every phase: S seconds of work on its cores (CPU time)")
        group.add_argument("--memory", metavar="SIZE", help="memory limit of every phase, e.g. 4G or 512M")
        group.add_argument("--cpus", type=int, metavar="N", help="cores every phase runs on, alone")

    one = add("grade", cmd_grade, "grade one submission (.py, .ipynb, folder or zip) and store the result")
    one.add_argument("path", type=Path)
    one.add_argument("--assignment", "-a", required=True)
    one.add_argument("--student", help="student id (default: the file or folder name)")
    one.add_argument("--db", help="gradebook URL (default: GRADER_DB_URL, else var/grades.db)")
    one.add_argument("--json", action="store_true", help="print Gradescope's results.json instead of text")
    envelope_options(one)

    many = add("grade-all", cmd_grade_all, "grade every submission in a folder: one file or folder per student")
    many.add_argument("directory", type=Path)
    many.add_argument("--assignment", "-a", required=True)
    many.add_argument("--workers", type=int, default=1, help="submissions graded at once (default 1)")
    many.add_argument("--db")
    envelope_options(many)

    check = add("check", cmd_check, "self-check: run the public checks only, without a gradebook or hidden data")
    check.add_argument("path", type=Path)
    check.add_argument("--assignment", "-a", required=True)
    envelope_options(check)

    export = add("export", cmd_export, "export grades as CSV or Gradescope results")
    export.add_argument("--format", choices=("csv", "gradescope"), required=True)
    export.add_argument("--assignment", "-a")
    export.add_argument("--db")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")

    board = add("scoreboard", cmd_scoreboard, "print the ranked scoreboard, students under their pseudonyms")
    board.add_argument("--db")

    add("assignments", cmd_assignments, "list the assignments with their points and time limits")

    work = add("worker", cmd_worker, "grade the gradebook's queued submissions until stopped "
               "(Ctrl-C or SIGTERM hands the jobs in progress back to the queue)")
    work.add_argument("--db")
    work.add_argument("--workers", type=int, default=1, help="submissions graded at once (default 1)")
    work.add_argument("--once", action="store_true", help="exit once the queue is empty")
    work.add_argument("--poll", type=float, default=2.0, metavar="S",
                      help="seconds between looks at an empty queue (default 2)")
    work.add_argument("--max-attempts", type=int, metavar="N",
                      help="how many workers may die (or lose their lease) grading one submission before "
                           "it becomes a grader error (default 3)")
    envelope_options(work)

    roster = add("roster", None, "manage the class list and the students' upload tokens")
    roster_commands = roster.add_subparsers(dest="roster_command", required=True)
    load = roster_commands.add_parser(
        "import", help="add the students of a CSV and issue upload tokens",
        description="Adds the students of a CSV (columns student_id, optional display_name; others ignored) "
                    "and issues an upload token to each student who has none. The tokens are printed as "
                    "student_id,token CSV, once: the gradebook keeps only their hashes.")
    load.set_defaults(run=cmd_roster_import)
    load.add_argument("csv", type=Path)
    load.add_argument("--tokens-out", type=Path, help="write the new tokens to this new file (mode 0600) "
                      "instead of standard output")
    load.add_argument("--reissue", action="store_true", help="issue new tokens to every student in the CSV, "
                      "invalidating their old ones")
    load.add_argument("--db")
    return parser


def cmd_assignments(args, config: Config) -> int:
    for name in assignment_names():
        assignment = load_assignment(name)
        print(f"{name:14} {assignment.max_points:>5g} points ({assignment.public_points():g} public)  "
              f"{assignment.title}\n{'':14} functions: {', '.join(assignment.functions)}")
        for phase in assignment.phases:
            envelope = phase_envelope(phase, config)
            gpu = f", {envelope.gpu:g} of a GPU where there is one" if envelope.gpu else ""
            print(f"{'':14} phase {phase.name}: {envelope.seconds:g} s on {envelope.cpus} "
                  f"core{'s' if envelope.cpus != 1 else ''}, {size_text(envelope.memory_bytes)}{gpu}")
    return 0


def _overrides(args) -> EnvelopeOverrides:
    if args.timeout is not None and not args.timeout > 0:
        raise ValueError(f"Expected a strictly positive value. Received --timeout={args.timeout}.")
    if args.cpus is not None and args.cpus < 1:
        raise ValueError(f"Expected a strictly positive value. Received --cpus={args.cpus}.")
    return EnvelopeOverrides(seconds=args.timeout, cpus=args.cpus,
                             memory_bytes=parse_size(args.memory) if args.memory else None)


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


def cmd_scoreboard(args, config: Config) -> int:
    from grader.store import Gradebook

    with Gradebook(config.db_url) as gradebook:
        rows = gradebook.latest_results()
    names = sorted({row["assignment"] for row in rows})
    totals: dict[str, dict] = {}
    for row in rows:
        entry = totals.setdefault(row["pseudonym"], {"total": 0.0})
        entry[row["assignment"]] = row["score"]
        entry["total"] += row["score"] or 0.0
    ranked = sorted(totals.items(), key=lambda item: -item[1]["total"])
    maxima = {name: max((r["max_score"] or 0) for r in rows if r["assignment"] == name) for name in names}
    header = f"{'rank':>4}  {'student':24}" + "".join(f"{n[:13]:>14}" for n in names) + f"{'total':>8}"
    print(header + "\n" + "-" * len(header))
    for rank, (who, entry) in enumerate(ranked, 1):
        cells = "".join(f"{'-' if entry.get(n) is None else f'{entry[n]:g}/{maxima[n]:g}':>14}" for n in names)
        print(f"{rank:>4}  {who:24}{cells}{entry['total']:>8g}")
    return 0


def cmd_check(args, config: Config) -> int:
    assignment = load_assignment(args.assignment)
    report = grade(_existing(args.path), assignment, config, self_check=True)
    print(format_report(report, f"Self-check of {assignment.name} (public checks only)"))
    return 0


def cmd_grade(args, config: Config) -> int:
    from grader.store import Gradebook

    assignment = load_assignment(args.assignment)
    path = _existing(args.path)
    student = args.student or _student_id(path)
    with Gradebook(config.db_url) as gradebook:
        report = _grade_and_store(gradebook, path, student, assignment, config, slot=0)
    if args.json:
        print(json.dumps(report.to_gradescope(), indent=2))
    else:
        print(format_report(report, assignment.name))
    return 0


def cmd_grade_all(args, config: Config) -> int:
    from grader.store import Gradebook

    assignment = load_assignment(args.assignment)
    directory = _existing(args.directory)
    entries = sorted(p for p in directory.iterdir()
                     if not p.name.startswith(".") and (p.is_dir() or p.suffix in SUBMISSION_SUFFIXES))
    if args.workers < 1:
        raise ValueError(f"Expected a strictly positive value. Received workers={args.workers}.")
    workers = machine_workers(args.workers, [assignment], config)
    progress = _Progress(len(entries))
    slots = list(range(workers))
    slot_lock = threading.Lock()
    with Gradebook(config.db_url) as gradebook:
        def one(path: Path) -> None:
            with slot_lock:
                slot = slots.pop()
            try:
                student = _student_id(path)
                content, content_hash = _content_of(path)
                version = grader_version(assignment)
                if gradebook.find_graded(student, assignment.name, content_hash, version) is not None:
                    progress.done(student, "unchanged, skipped")
                    return
                report = _grade_and_store(gradebook, path, student, assignment, config, slot,
                                          content=(content, content_hash))
                progress.done(student, f"{report.score:g}/{report.max_score:g} in {report.execution_seconds:.0f} s")
            except Exception as error:  # the batch goes on; the gradebook has the details
                progress.done(path.name, f"grader error: {error}")
            finally:
                with slot_lock:
                    slots.append(slot)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, entries))
    print(f"Graded {len(entries)} submissions of {assignment.name} in {time.perf_counter() - progress.started:.0f} s.",
          file=sys.stderr)
    return 0


def cmd_export(args, config: Config) -> int:
    from grader.export import export_csv, export_gradescope
    from grader.store import Gradebook

    if args.format == "gradescope" and not args.assignment:
        raise ValueError("--format gradescope needs --assignment: Gradescope results are per assignment.")
    out = open(args.out, "w", newline="") if args.out else sys.stdout
    try:
        with Gradebook(config.db_url) as gradebook:
            if args.format == "csv":
                export_csv(gradebook, args.assignment, out)
            else:
                export_gradescope(gradebook, args.assignment, out)
    finally:
        if args.out:
            out.close()
    return 0


def cmd_worker(args, config: Config) -> int:
    from grader.worker import serve

    if args.max_attempts is not None:
        if args.max_attempts < 1:
            raise ValueError(f"Expected a strictly positive value. Received --max-attempts={args.max_attempts}.")
        config = dataclasses.replace(config, max_attempts=args.max_attempts)
    if args.workers < 1:
        raise ValueError(f"Expected a strictly positive value. Received workers={args.workers}.")
    workers = machine_workers(args.workers, [load_assignment(name) for name in assignment_names()], config)
    return serve(config, threads=workers, once=args.once, poll_seconds=args.poll)


def cmd_roster_import(args, config: Config) -> int:
    from grader.roster import import_roster_file
    from grader.store import Gradebook

    with Gradebook(config.db_url) as gradebook:
        result = import_roster_file(gradebook, args.csv, tokens_out=args.tokens_out, reissue=args.reissue)
    where = f" (written to {args.tokens_out})" if args.tokens_out and result.tokens else ""
    print(f"{args.csv}: {len(result.added)} students added, {len(result.renamed)} renamed, "
          f"{len(result.tokens)} tokens issued{where}.", file=sys.stderr)
    return 0


def _grade_and_store(gradebook, path: Path, student: str, assignment, config: Config, slot: int,
                     content: tuple[bytes, str] | None = None) -> GradingReport:
    from grader.worker import Heartbeat

    content, content_hash = content or _content_of(path)
    gradebook.ensure_student(student)
    submission_id, _ = gradebook.add_submission(student, assignment.name, path.name, content, content_hash)
    # Claimed under a renewed lease like a worker's job, not merely marked "grading": when this process
    # is killed (out of memory, kill -9), a worker takes the submission over once the lease runs out;
    # unleased, it stayed "grading" with no one grading it, and no worker ever took it.
    claim = f"{socket.gethostname()}:{os.getpid()}:{slot}"
    gradebook.claim(submission_id, claim, config.lease_seconds)
    try:
        with Heartbeat(gradebook, submission_id, claim, config.lease_seconds):
            report = grade(path, assignment, config, student=student, slot=slot)
    except Exception as error:  # a grader fault: recorded as such, never as a zero for the student
        import traceback

        gradebook.record_error(submission_id, f"The grader failed: {error}", traceback.format_exc(), worker_id=claim)
        raise
    if not gradebook.record_report_or_error(submission_id, report, worker_id=claim):
        print(f"{student}: graded, but not recorded: the submission was requeued or taken over by another "
              f"grader meanwhile (submission {submission_id}).", file=sys.stderr)
    return report


def _content_of(path: Path) -> tuple[bytes, str]:
    """The bytes kept in the gradebook (a folder becomes a zip) and their hash."""
    if path.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
                info = zipfile.ZipInfo(str(file.relative_to(path)), date_time=(1980, 1, 1, 0, 0, 0))
                archive.writestr(info, file.read_bytes())
        content = buffer.getvalue()
    else:
        content = path.read_bytes()
    return content, hashlib.sha256(content).hexdigest()


def _student_id(path: Path) -> str:
    # A file name is the uploader's choice: it is printed and stored, so made safe here.
    return safe_text(path.name if path.is_dir() else path.stem)


def _existing(path: Path) -> Path:
    if not path.exists():
        raise ValueError(f"{path} does not exist.")
    return path


class _Progress:
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
