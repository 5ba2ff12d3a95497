"""`worker` and `roster import`: the commands that keep the site's queue and class list going."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from grader.assignment import assignment_names, load_assignment
from grader.cli.options import add_envelope_options, add_store_options, machine_workers, positive
from grader.config import Config


def add_commands(add) -> None:
    work = add("worker", cmd_worker, "grade the gradebook's queued submissions until stopped "
               "(Ctrl-C or SIGTERM hands the jobs in progress back to the queue)")
    work.add_argument("--workers", type=int, default=1, help="submissions graded at once (default 1; with --ray "
                      "not capped by this machine's cores: Ray places each phase where its envelope is free)")
    work.add_argument("--ray", metavar="ADDRESS", help="run every phase as a task on the Ray cluster at ADDRESS "
                      "(HEAD:6379), or on a one-machine Ray started here with 'local'; Ray's dashboard and "
                      "usage statistics stay off")
    work.add_argument("--once", action="store_true", help="exit once the queue is empty")
    work.add_argument("--poll", type=float, default=2.0, metavar="S",
                      help="seconds between looks at an empty queue (default 2)")
    work.add_argument("--max-attempts", type=int, metavar="N",
                      help="how many workers may die (or lose their lease) grading one submission before "
                           "it becomes a grader error (default 3)")
    add_store_options(work)
    add_envelope_options(work)

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
    add_store_options(load)


def cmd_worker(args: argparse.Namespace, config: Config) -> int:
    from grader.worker import serve

    if args.max_attempts is not None:
        config = dataclasses.replace(config, max_attempts=positive(args.max_attempts, "--max-attempts"))
    positive(args.workers, "workers")
    if args.ray:
        from grader.cluster.ray_worker import serve_on_ray

        return serve_on_ray(config, args.ray, threads=args.workers, once=args.once, poll_seconds=args.poll)
    workers = machine_workers(args.workers, [load_assignment(name) for name in assignment_names()], config)
    return serve(config, threads=workers, once=args.once, poll_seconds=args.poll)


def cmd_roster_import(args: argparse.Namespace, config: Config) -> int:
    from grader.roster import import_roster_file
    from grader.store import Gradebook

    with Gradebook(config.db_url) as gradebook:
        result = import_roster_file(gradebook, args.csv, tokens_out=args.tokens_out, reissue=args.reissue)
    where = f" (written to {args.tokens_out})" if args.tokens_out and result.tokens else ""
    print(f"{args.csv}: {len(result.added)} students added, {len(result.renamed)} renamed, "
          f"{len(result.tokens)} tokens issued{where}.", file=sys.stderr)
    return 0
