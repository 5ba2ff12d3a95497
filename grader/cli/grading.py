"""`grade`, `grade-all`, `check` and `regrade`: submissions in through intake, graded by the one job function."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.assignment import load_assignment
from grader.cli.options import (
    GRADER_FAULT,
    Progress,
    add_envelope_options,
    add_store_options,
    iso_time,
    machine_workers,
    positive,
)
from grader.config import Config
from grader.course.current import course_of
from grader.course import final_grades_of
from grader.feedback import format_report
from grader.grading import grade_path, grader_version
from grader.intake import SUFFIXES, IntakeError, from_path, read_manifest, submission_time
from grader.jobs import JobOutcome, grade_job, worker_id
from grader.present import check_changes, score_text
from grader.store import Gradebook
from grader.text import safe_text


def add_commands(add) -> None:
    one = add("grade", cmd_grade, "grade one submission (.py, .ipynb, folder or zip) and store the result")
    one.add_argument("path", type=Path)
    one.add_argument("--assignment", "-a", required=True)
    one.add_argument("--student", help="student id (default: the file or folder name)")
    one.add_argument("--submitted-at", type=iso_time, metavar="ISO-8601",
                     help="when it was submitted, e.g. 2026-12-15T23:59:00+08:00 (default: the file's "
                          "modification time, which the report says)")
    one.add_argument("--json", action="store_true", help="print Gradescope's results.json instead of text")
    add_store_options(one)
    add_envelope_options(one)

    many = add("grade-all", cmd_grade_all, "grade every submission in a folder: one file or folder per student")
    many.add_argument("directory", type=Path)
    many.add_argument("--assignment", "-a", required=True)
    many.add_argument("--workers", type=int, default=1, help="submissions graded at once (default 1)")
    many.add_argument("--submitted-at", type=iso_time, metavar="ISO-8601",
                      help="the time of every submission (default: manifest.csv beside the files, with columns "
                           "student,file,submitted_at, else each file's modification time)")
    many.add_argument("--queue", action="store_true",
                      help="store and queue them for `python -m grader worker` instead of grading here")
    add_store_options(many)
    add_envelope_options(many)

    queue = add("queue", cmd_queue, "store every submission in a folder (one file or folder per student, as "
                "grade-all reads them) and queue it for `python -m grader worker`, as the site queues an upload")
    queue.add_argument("directory", type=Path)
    queue.add_argument("--assignment", "-a", required=True)
    queue.add_argument("--submitted-at", type=iso_time, metavar="ISO-8601",
                       help="the time of every submission (default: manifest.csv beside the files, else each "
                            "file's modification time)")
    add_store_options(queue)

    check = add("check", cmd_check, "self-check: run the public checks only, without a gradebook or hidden data")
    check.add_argument("path", type=Path)
    check.add_argument("--assignment", "-a", required=True)
    add_envelope_options(check)

    again = add("regrade", cmd_regrade, "grade stored submissions again and say what changed; every earlier "
                "grading is kept (see `history`, `revert`)")
    again.add_argument("submission", type=int, nargs="?", metavar="SUBMISSION_ID")
    again.add_argument("--student", help="every submission of this student")
    again.add_argument("--assignment", "-a", help="every submission of this assignment")
    again.add_argument("--all", action="store_true", help="every submission in the gradebook")
    again.add_argument("--workers", type=int, default=1, help="submissions graded at once (default 1)")
    again.add_argument("--queue", action="store_true", help="queue them for the worker instead of grading here")
    add_store_options(again)
    add_envelope_options(again)


def cmd_grade(args: argparse.Namespace, config: Config) -> int:
    assignment = load_assignment(args.assignment)
    path = existing(args.path)
    artifact = from_path(path, max_bytes=config.upload_max_bytes)
    student = safe_text(args.student) if args.student else student_id(path)
    when = submission_time(path, flag=args.submitted_at)
    with Gradebook(config.db_url) as gradebook:
        submission_id, _ = gradebook.add_submission(student, assignment.name, artifact, submitted_at=when.at,
                                                    time_source=when.source)
        outcome = grade_now(gradebook, submission_id, config, slot=0)
        final = next((f for f in final_grades_of(gradebook, course_of(config), assignment.name)
                      if f.student_id == student), None)
    if outcome.report is None:
        print(outcome.line, file=sys.stderr)
        return GRADER_FAULT
    if args.json:
        results = outcome.report.to_gradescope()
        results["extra_data"] = {"submission_id": submission_id}
        print(json.dumps(results, indent=2))
        return 0
    print(format_report(outcome.report, assignment.name))
    print(f"\nStored as submission {submission_id} (grading {outcome.grading_id}).")
    if final is not None and final.submission_id is not None:
        print(final_line(final))
    return 0


def cmd_grade_all(args: argparse.Namespace, config: Config) -> int:
    assignment = load_assignment(args.assignment)
    directory = existing(args.directory)
    positive(args.workers, "workers")
    manifest = read_manifest(directory)
    entries = sorted(p for p in directory.iterdir()
                     if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() in SUFFIXES))
    if manifest is not None:
        absent = sorted(set(manifest.entries) - {p.name for p in entries})
        if absent:
            print(f"{manifest.path}: {len(absent)} listed file(s) not in {directory}: {', '.join(absent[:8])}",
                  file=sys.stderr)
    workers = 1 if args.queue else machine_workers(args.workers, [assignment], config)
    version = grader_version(assignment)
    progress = Progress(len(entries))
    slots = Slots(workers)
    refused: list[str] = []

    with Gradebook(config.db_url) as gradebook:
        def one(path: Path) -> None:
            entry = manifest.entry(path.name) if manifest is not None else None
            student = safe_text(entry.student) if entry is not None else student_id(path)
            try:
                artifact = from_path(path, max_bytes=config.upload_max_bytes)
            except IntakeError as error:
                refused.append(f"{student}: {error}")
                progress.done(student, f"refused, nothing stored: {error}")
                return
            if gradebook.find_graded(student, assignment.name, artifact.content_hash, version) is not None:
                progress.done(student, "unchanged, skipped")
                return
            when = submission_time(path, flag=args.submitted_at, entry=entry)
            submission_id, created = gradebook.add_submission(student, assignment.name, artifact,
                                                              submitted_at=when.at, time_source=when.source)
            if args.queue:
                status = gradebook.submission(submission_id).status
                if status in ("done", "error"):  # graded by another grader version, or failed: again
                    gradebook.requeue(submission_id)
                # Queued or being graded already: requeueing would take the job from the worker grading it.
                progress.done(student, f"queued as submission {submission_id}" if created or status in ("done", "error")
                              else f"submission {submission_id} is {status} already")
                return
            outcome = slots.grade(gradebook, submission_id, config)
            progress.done(student, outcome.line.split(": ", 1)[-1])

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, entries))
    verb = "Queued" if args.queue else "Graded"
    print(f"{verb} {len(entries) - len(refused)} submissions of {assignment.name} in "
          f"{time.perf_counter() - progress.started:.0f} s.", file=sys.stderr)
    if refused:
        print(f"Refused at intake, nothing stored ({len(refused)}):\n  " + "\n  ".join(refused), file=sys.stderr)
    return 0


def cmd_queue(args: argparse.Namespace, config: Config) -> int:
    """`queue DIR`: what `grade-all DIR --queue` does; the workers (on a Ray cluster or not) grade them."""
    return cmd_grade_all(argparse.Namespace(**vars(args), queue=True, workers=1), config)


def cmd_check(args: argparse.Namespace, config: Config) -> int:
    assignment = load_assignment(args.assignment)
    report = grade_path(existing(args.path), assignment, config, self_check=True)
    print(format_report(report, f"Self-check of {assignment.name} (public checks only)"))
    return 0


def cmd_regrade(args: argparse.Namespace, config: Config) -> int:
    chosen = [args.submission is not None, bool(args.student or args.assignment), args.all]
    if sum(chosen) != 1:
        raise ValueError("Expected what to regrade: a SUBMISSION_ID, --student and/or --assignment, or --all.")
    positive(args.workers, "workers")
    with Gradebook(config.db_url) as gradebook:
        if args.submission is not None:
            ids = [gradebook.submission(args.submission).id]
        else:
            ids = [s.id for s in gradebook.submissions(student_id=args.student, assignment=args.assignment)]
        if not ids:
            print("Nothing to regrade: no submission matches.", file=sys.stderr)
            return 0
        if args.queue:
            for submission_id in ids:
                gradebook.requeue(submission_id)
            print(f"Queued {len(ids)} submission{'s' if len(ids) != 1 else ''} for the worker.", file=sys.stderr)
            return 0
        assignments = [load_assignment(name) for name in sorted({gradebook.submission(i).assignment for i in ids})]
        workers = machine_workers(args.workers, assignments, config)
        slots = Slots(workers)

        def one(submission_id: int) -> str:
            before = gradebook.submission(submission_id)
            before_checks = gradebook.check_results(submission_id) if before.grading else []
            outcome = slots.grade(gradebook, submission_id, config)
            after = gradebook.submission(submission_id)
            head = (f"submission {submission_id} ({after.student_id}, {after.assignment}): "
                    f"{score_text(before.score, before.max_score)} -> {score_text(after.score, after.max_score)}")
            if outcome.grading_id is None:
                return f"{head}; {outcome.line}"
            changed = check_changes(before_checks, gradebook.check_results(submission_id))
            return f"{head} (grading {outcome.grading_id}); " + ("; ".join(changed) if changed else "no check changed")

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for line in pool.map(one, ids):
                print(line, flush=True)
    return 0


class Slots:
    """Sandbox slots for the threads of one command: each grading holds one, so no two share a uid."""

    def __init__(self, count: int):
        self._free = list(range(count))
        self._lock = threading.Lock()

    def grade(self, gradebook: Gradebook, submission_id: int, config: Config) -> JobOutcome:
        with self._lock:
            slot = self._free.pop()
        try:
            return grade_now(gradebook, submission_id, config, slot)
        finally:
            with self._lock:
                self._free.append(slot)


def grade_now(gradebook: Gradebook, submission_id: int, config: Config, slot: int) -> JobOutcome:
    """Claims the stored submission for this process (whatever its status) and grades it as a worker would.

    Claimed under a renewed lease, not merely marked "grading": when this process is killed (out of
    memory, kill -9), a worker takes the submission over once the lease runs out.
    """
    claim = worker_id(slot)
    job = gradebook.claim(submission_id, claim, config.lease_seconds)
    return grade_job(gradebook, job, config, slot=slot, worker_id=claim)


def final_line(final) -> str:
    """"Final grade for lenet5: 16/20 (raw 20/20; late by 1 day 3 h (2 started days): -20%)"."""
    text = f"Final grade for {final.assignment}: {score_text(final.score, final.max_score)}"
    details = []
    if final.raw_score != final.score:
        details.append(f"raw {score_text(final.raw_score, final.max_score)}")
    if final.lateness:
        details.append(final.lateness)
    details.append(f"counts: submission {final.submission_id}, {final.why}")
    return f"{text} ({'; '.join(details)})."


def student_id(path: Path) -> str:
    # A file name is the uploader's choice: it is printed and stored, so made safe here.
    return safe_text(path.name if path.is_dir() else path.stem)


def existing(path: Path) -> Path:
    if not path.exists():
        raise ValueError(f"{path} does not exist.")
    return path
