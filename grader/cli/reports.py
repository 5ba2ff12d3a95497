"""`scoreboard`, `export` and `assignments`: what the gradebook holds, under the course's policy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.assignment import assignment_names, load_assignment
from grader.cli.options import add_store_options
from grader.config import Config
from grader.course.current import course_of
from grader.course import final_grades_of, local_text
from grader.grading import phase_envelope
from grader.leaderboard import part_caption
from grader.present import percent_text, score_text, size_text
from grader.standings import accuracy_boards, standings
from grader.store import Gradebook

EXPORT_FORMATS = ("csv", "gradescope", "canvas")


def add_commands(add) -> None:
    export = add("export", cmd_export, "export final grades: CSV, Gradescope's results.json, or Canvas's grade import")
    export.add_argument("--format", choices=EXPORT_FORMATS, required=True)
    export.add_argument("--assignment", "-a")
    export.add_argument("--out", type=argparse.FileType("w", encoding="utf-8"), default=sys.stdout,
                        help="file to write (default: standard output)")
    add_store_options(export)

    board = add("scoreboard", cmd_scoreboard, "print the ranked final grades and the accuracy leaderboards, "
                "students under their pseudonyms")
    add_store_options(board)

    listing = add("assignments", cmd_assignments, "list the assignments with their points, time limits and, "
                  "with a course file, their windows and late policy")
    listing.add_argument("--course", type=Path, metavar="FILE",
                         help="the course's policy (default: GRADER_COURSE, else course.toml at the repository root)")


def cmd_assignments(args: argparse.Namespace, config: Config) -> int:
    course = course_of(config)
    for name in assignment_names():
        assignment = load_assignment(name)
        print(f"{name:14} {assignment.max_points:>5g} points ({assignment.public_points():g} public)  "
              f"{assignment.title}\n{'':14} functions: {', '.join(assignment.functions)}")
        for phase in assignment.phases:
            envelope = phase_envelope(phase, config)
            gpu = f", {envelope.gpu:g} of a GPU where there is one" if envelope.gpu else ""
            print(f"{'':14} phase {phase.name}: {envelope.seconds:g} s on {envelope.cpus} "
                  f"core{'s' if envelope.cpus != 1 else ''}, {size_text(envelope.memory_bytes)}{gpu}")
        if policy := policy_text(course, name):
            print(f"{'':14} {policy}")
    return 0


def policy_text(course, name: str) -> str:
    """"opens 2026-12-01 08:00, due 2026-12-15 23:59, -10% per started day late, closes 2026-12-18 23:59
    (Asia/Shanghai), the best submission counts", or "" when the course sets no window."""
    policy = course.policy(name)
    parts = [f"{word} {local_text(course, when, zone=False)}" for word, when in
             (("opens", policy.opens), ("due", policy.due), ("closes", policy.late_until)) if when is not None]
    if parts:
        parts[-1] += f" ({course.timezone})"
    if policy.late_penalty_per_day:
        parts.insert(2 if policy.opens else 1, f"-{policy.late_penalty_per_day:.0%} per started day late")
    if parts and policy.counts == "best":
        parts.append("the best submission counts")
    return ", ".join(parts)


def cmd_scoreboard(args: argparse.Namespace, config: Config) -> int:
    course = course_of(config)
    with Gradebook(config.db_url) as gradebook:
        grades = final_grades_of(gradebook, course)
        lines = standings(grades, gradebook.students())
        boards = accuracy_boards(gradebook, course, config.now(), grades)
    names = [name for name in assignment_names() if any(g.assignment == name for g in grades)]
    if not lines:
        print("No graded submissions yet.")
        return 0
    maxima = {name: max((g.max_score or 0) for g in grades if g.assignment == name) for name in names}
    header = f"{'rank':>4}  {'student':24}" + "".join(f"{n[:17]:>18}" for n in names) + f"{'total':>8}"
    print(header + "\n" + "-" * len(header))
    for line in lines:
        cells = []
        for name in names:
            grade = line.grades.get(name)
            if grade is None:
                cells.append("-")
            elif grade.status == "error":
                cells.append("grader error")
            else:
                raw = f" (raw {grade.raw_score:g})" if grade.raw_score != grade.score else ""
                cells.append(f"{score_text(grade.score, maxima[name])}{raw}")
        print(f"{line.rank:>4}  {line.pseudonym:24}" + "".join(f"{c:>18}" for c in cells) + f"{line.total:>8g}")
    for board in boards:
        print(f"\n{board.assignment}: accuracy leaderboard. {part_caption(board.part)}")
        for row in board.rows:
            rank = f"{row.rank}{'=' if row.tied else ''}"
            print(f"{rank:>5}  {row.pseudonym:24} {percent_text(row.accuracy, 2):>7}  "
                  f"95% interval {percent_text(row.low, 1)} to {percent_text(row.high, 1)}")
    return 0


def cmd_export(args: argparse.Namespace, config: Config) -> int:
    from grader import export

    if args.format == "gradescope" and not args.assignment:
        raise ValueError("--format gradescope needs --assignment: Gradescope results are per assignment.")
    course = course_of(config)
    with Gradebook(config.db_url) as gradebook:
        left_out = export.export(gradebook, course, args.format, args.assignment, args.out)
    if left_out:
        print(f"Left out (the grader failed on the submission that counts; regrade it): {', '.join(left_out)}",
              file=sys.stderr)
    return 0
