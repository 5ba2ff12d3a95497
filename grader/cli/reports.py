"""`report`, `scoreboard`, `export` and `assignments`: what the gradebook holds, under the course's policy."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from grader.assignment import assignment_names, load_assignment
from grader.cli.options import add_store_options
from grader.config import Config
from grader.course.current import course_of
from grader.course import Course, final_grades_of, local_text
from grader.grading import phase_envelope
from grader.leaderboard import part_caption
from grader.pictures.audience import EVERYTHING, student_view
from grader.pictures.figures import Figures
from grader.present import percent_text, plural, score_text, size_text
from grader.standings import accuracy_boards, standings
from grader.results import CheckResult
from grader.store import Gradebook
from grader.store.rows import GradingRow, SubmissionRow

EXPORT_FORMATS = ("csv", "gradescope", "canvas")


def add_commands(add) -> None:
    report = add("report", cmd_report, "write the feedback report of a submission's grading (the checks, the layer "
                 "table, the pictures) as DIR/report.html with its PNGs beside it")
    report.add_argument("submission", type=int, nargs="?", metavar="SUBMISSION_ID",
                        help="the submission (or give --student and --assignment)")
    report.add_argument("--student", "-s", help="with --assignment: the student's submission that counts")
    report.add_argument("--assignment", "-a")
    report.add_argument("--grading", type=int, metavar="G", help="that grading of the submission (default: the "
                        "current one, which students see; `history` lists them)")
    report.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write into (made if needed)")
    add_store_options(report)

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
            shared = "; shares the sandbox of the phase before it in a full grading" if phase.joins_previous else ""
            print(f"{'':14} phase {phase.name}: {envelope.seconds:g} s on {envelope.cpus} "
                  f"core{'s' if envelope.cpus != 1 else ''}, {size_text(envelope.memory_bytes)}{gpu}{shared}")
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


def cmd_report(args: argparse.Namespace, config: Config) -> int:
    named = (args.student is not None, args.assignment is not None)
    if (args.submission is not None and any(named)) or (args.submission is None and not all(named)):
        raise ValueError("Expected a SUBMISSION_ID, or --student and --assignment together "
                         "(the student's submission that counts).")
    started = time.perf_counter()
    course = course_of(config)
    with Gradebook(config.db_url) as gradebook:
        submission_id = args.submission if args.submission is not None else \
            counted_submission(gradebook, course, args.student, load_assignment(args.assignment).name)
        submission = gradebook.submission(submission_id)
        grading = _grading(gradebook.gradings(submission_id), submission, args.grading)
        figures = gradebook.figures(submission_id, grading.id)
        if figures is None:
            raise ValueError(f"Grading {grading.id} of submission {submission_id} has no report: it was made before "
                             f"the grader drew reports (grader {grading.grader_version}). Regrade it to get one: "
                             f"python -m grader regrade {submission_id}")
        checks = gradebook.check_results(submission_id, grading.id)
        extensions = gradebook.extensions()

    from grader.pictures.draw import draw  # matplotlib only for the command that draws
    from grader.pictures.page import write_report

    pictures = draw(figures)
    graded = f", {local_text(course, grading.graded_at)}" if grading.graded_at else ""
    who = (f"{submission.student_id}, submission {submission.id} ({submission.filename}), submitted "
           f"{local_text(course, submission.submitted_at)}; grading {grading.id} by grader "
           f"{grading.grader_version}{graded}.")
    page = write_report(args.out, title=f"{submission.assignment}: feedback report", who=who, figures=figures,
                        checks=checks, notes=grading.notes, withheld=None, pictures=pictures,
                        staff_line=f"{EVERYTHING} " + student_view(course, submission, grading, extensions, config.now(),
                                                                   has_hidden=_has_hidden(figures, checks)))
    seconds = time.perf_counter() - started
    sizes = [(page, page.stat().st_size)] + [(args.out / f"{p.name}.png", len(p.png)) for p in pictures]
    print(f"Wrote the report of submission {submission.id}, grading {grading.id}, to {page} "
          f"({plural(len(pictures), 'picture')}, {size_text(sum(size for _, size in sizes))} in all, {seconds:.1f} s):")
    for path, size in sizes:
        print(f"  {path.name:24} {size_text(size):>10}")
    return 0


def counted_submission(gradebook: Gradebook, course: Course, student: str, assignment: str) -> int:
    """The student's submission of the assignment that counts under the course's policy (grader.course.final)."""
    grades = [grade for grade in final_grades_of(gradebook, course, assignment) if grade.student_id == student]
    if not grades:
        raise LookupError(f"{student} has no graded submission of {assignment} in the gradebook.")
    if grades[0].submission_id is None:
        raise ValueError(f"No submission of {student} for {assignment} counts: {grades[0].why}; "
                         "give a SUBMISSION_ID to see one of them.")
    return grades[0].submission_id


def _grading(gradings: list[GradingRow], submission: SubmissionRow, grading_id: int | None) -> GradingRow:
    """The grading to report on: `grading_id`, else the current one; one with a report to show, or an error."""
    if not gradings:
        raise ValueError(f"Submission {submission.id} is not graded yet (it is {submission.status}).")
    if grading_id is None:
        chosen = next((g for g in gradings if g.is_current), gradings[-1])
    else:
        found = [g for g in gradings if g.id == grading_id]
        if not found:
            raise LookupError(f"Submission {submission.id} has no grading {grading_id}; its gradings are "
                              f"{', '.join(str(g.id) for g in gradings)}.")
        chosen = found[0]
    if chosen.status == "error":
        raise ValueError(f"Grading {chosen.id} of submission {submission.id} is a grader error, so it has no report. "
                         f"Regrade it: python -m grader regrade {submission.id}")
    return chosen


def _has_hidden(figures: Figures, checks: list[CheckResult]) -> bool:
    return any(check.hidden for check in checks) or any(_present(getattr(figures, name)) for name in Figures.HIDDEN)


def _present(value) -> bool:
    return value is not None and (isinstance(value, np.ndarray) or len(value) > 0)
