"""`extension add|list|remove`: later due dates for single students, kept in the gradebook."""

from __future__ import annotations

import argparse
import sys

from grader.assignment import load_assignment
from grader.cli.options import add_store_options, iso_time
from grader.config import Config
from grader.course.current import course_of
from grader.course import due_for, local_text
from grader.store import Gradebook
from grader.text import safe_text


def add_commands(add) -> None:
    extension = add("extension", None, "grant, list or take back a student's later due date for an assignment")
    commands = extension.add_subparsers(dest="extension_command", required=True)
    grant = commands.add_parser("add", help="give STUDENT a later due date for ASSIGNMENT",
                                description="Gives STUDENT a later due date for ASSIGNMENT; it replaces an earlier "
                                            "one of the gradebook's and wins over course.toml's [extensions].")
    grant.set_defaults(run=cmd_add)
    grant.add_argument("student")
    grant.add_argument("assignment")
    grant.add_argument("--until", type=iso_time, required=True, metavar="ISO-8601",
                       help="the student's own due date, e.g. 2026-12-17T23:59:00+08:00")
    add_store_options(grant)
    listing = commands.add_parser("list", help="every extension, from the gradebook and from course.toml")
    listing.set_defaults(run=cmd_list)
    add_store_options(listing)
    remove = commands.add_parser("remove", help="take back the gradebook's extension of STUDENT for ASSIGNMENT")
    remove.set_defaults(run=cmd_remove)
    remove.add_argument("student")
    remove.add_argument("assignment")
    add_store_options(remove)


def cmd_add(args: argparse.Namespace, config: Config) -> int:
    assignment = load_assignment(args.assignment).name
    student = safe_text(args.student)
    course = course_of(config)
    due = course.policy(assignment).due
    with Gradebook(config.db_url) as gradebook:
        gradebook.ensure_student(student)
        gradebook.set_extension(student, assignment, args.until)
        effective = due_for(course, student, assignment, gradebook.extensions())
    print(f"{student} may submit {assignment} until {local_text(course, args.until)} without penalty.")
    if due is None:
        print(f"Note: {assignment} has no due date in the course file, so the extension changes nothing yet.",
              file=sys.stderr)
    elif effective != args.until:
        print(f"Note: that is before the assignment's own due date ({local_text(course, due)}), which stays in "
              "effect: an extension never shortens.", file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    course = course_of(config)
    with Gradebook(config.db_url) as gradebook:
        granted = gradebook.extensions()
    rows = [(e.student_id, e.assignment, e.until, "gradebook") for e in granted]
    in_gradebook = {(e.student_id, e.assignment) for e in granted}
    rows += [(student, assignment, until, f"{course.source.name} (overridden)" if (student, assignment) in in_gradebook
              else course.source.name) for (student, assignment), until in course.extensions.items()]
    if not rows:
        print("No extensions.")
        return 0
    print(f"{'student':24} {'assignment':14} {'until':36} from")
    for student, assignment, until, source in sorted(rows, key=lambda r: (r[1], r[0], r[3])):
        print(f"{student:24} {assignment:14} {local_text(course, until):36} {source}")
    return 0


def cmd_remove(args: argparse.Namespace, config: Config) -> int:
    with Gradebook(config.db_url) as gradebook:
        removed = gradebook.remove_extension(args.student, args.assignment)
    if not removed:
        raise ValueError(f"The gradebook has no extension for {args.student} on {args.assignment} "
                         "(one in course.toml is removed by editing the file).")
    print(f"Removed the extension of {args.student} for {args.assignment}.")
    return 0
