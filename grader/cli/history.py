"""`history` and `revert`: every grading of a submission, and making an earlier one current again."""

from __future__ import annotations

import argparse

from grader.cli.options import add_store_options
from grader.config import Config
from grader.present import check_changes, score_text
from grader.store import Gradebook


def add_commands(add) -> None:
    history = add("history", cmd_history, "every grading of one submission, and what changed between them")
    history.add_argument("submission", type=int, metavar="SUBMISSION_ID")
    add_store_options(history)

    revert = add("revert", cmd_revert, "make an earlier grading of a submission the one students see")
    revert.add_argument("submission", type=int, metavar="SUBMISSION_ID")
    revert.add_argument("grading", type=int, metavar="GRADING_ID")
    add_store_options(revert)


def cmd_history(args: argparse.Namespace, config: Config) -> int:
    with Gradebook(config.db_url) as gradebook:
        submission = gradebook.submission(args.submission)
        gradings = gradebook.gradings(submission.id)
        checks = {g.id: gradebook.check_results(submission.id, g.id) for g in gradings}
    print(f"Submission {submission.id}: {submission.student_id}, {submission.assignment}, {submission.filename}, "
          f"submitted {submission.submitted_at:%Y-%m-%d %H:%M} UTC ({submission.time_source}); status {submission.status}")
    if not gradings:
        print("Not graded yet.")
        return 0
    header = f"  {'grading':>7}  {'recorded (UTC)':16}  {'grader version':22}  {'status':6}  {'score':>9}"
    print(header + "\n  " + "-" * (len(header) - 2))
    previous = None
    for grading in gradings:
        when = f"{grading.graded_at:%Y-%m-%d %H:%M}" if grading.graded_at else "-"
        mark = "  <- current" if grading.is_current else ""
        print(f"  {grading.id:>7}  {when:16}  {grading.grader_version or '-':22}  {grading.status:6}  "
              f"{score_text(grading.score, grading.max_score):>9}{mark}")
        if previous is not None and grading.status == "done" and previous.status == "done":
            for change in check_changes(checks[previous.id], checks[grading.id]):
                print(f"  {'':7}  {change}")
        previous = grading
    return 0


def cmd_revert(args: argparse.Namespace, config: Config) -> int:
    with Gradebook(config.db_url) as gradebook:
        gradebook.revert(args.submission, args.grading)
        submission = gradebook.submission(args.submission)
    print(f"Submission {submission.id} now shows grading {args.grading}: "
          f"{score_text(submission.score, submission.max_score)}.")
    return 0
