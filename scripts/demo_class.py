"""`make demo`'s class, set on today: its course file, roster, tokens and queued submissions, in the demo's folder."""

# Why fixed data and moved dates: the class is committed with fixed dates (examples/submissions/*/
# manifest.csv say which student handed in which example file and when; examples/demo/course.toml
# holds the due dates), all as the class stands on CLASS_DAY, so it reads the same in the repository
# as on screen and can be graded with fixed dates too. A demo runs on any date, so this script moves
# every one of those times by the same whole number of days (wall-clock times, and so each
# submission's started days late, stay as committed) and writes the copies into the demo's folder.
#
# Usage (scripts/demo.sh runs it): GRADER_DB_URL=... GRADER_COURSE=... python scripts/demo_class.py --dir DIR
# Both must be set, so that the demo never writes into the instructor's gradebook. Prints, on
# standard output, what to look at and one student's token; running it again queues nothing twice.

from __future__ import annotations

import argparse
import contextlib
import csv
import re
import shutil
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from grader.cli import main as grader  # noqa: E402
from grader.config import REPO_ROOT, Config  # noqa: E402
from grader.course import load_course  # noqa: E402
from grader.intake import MANIFEST_NAME  # noqa: E402
from grader.store import Gradebook  # noqa: E402

CLASS_DAY = date(2027, 1, 11)
"""The day the committed class stands on: conv_ops, mnist_convnet and lenet5 are past due, resnet
and digit_adder still open, and every submission is at least an hour old."""
SUBMISSIONS = REPO_ROOT / "examples" / "submissions"
COURSE_TEMPLATE = REPO_ROOT / "examples" / "demo" / "course.toml"
ROSTER = REPO_ROOT / "examples" / "demo" / "roster.csv"
ASSIGNMENTS = ("conv_ops", "mnist_convnet", "lenet5", "resnet", "digit_adder")
SHOWN_STUDENT = "s02_wang_fang"
"""Whose token the demo prints: late on three assignments, so the penalties show on My submissions."""
EXTENSION = ("s05_liu_yang", "lenet5", datetime.fromisoformat("2026-12-17T23:59:00+08:00"))
"""The one extension: Liu Yang hands lenet5 in on the 17th, on time only thanks to it."""
DAY_FILE = "class-day"
"""In the demo's folder: the day the class was dated to by the first run, kept by later runs so
that a gradebook's stored submission times and the course file stay in step."""
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[+-]\d\d:\d\d|Z)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, required=True, help="the demo's folder, e.g. var/demo")
    parser.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="the day to set the class on (default: today in the course's timezone); a day an "
                             "earlier run set in DIR wins, since its gradebook holds the times: delete DIR to move it")
    args = parser.parse_args(argv)
    config = Config.from_env()
    if config.course_file is None or config.db_url == Config().db_url:
        parser.error("GRADER_DB_URL and GRADER_COURSE must name the demo's own gradebook and course file "
                     "(scripts/demo.sh sets them), so that the demo never writes into another gradebook.")
    folder = args.dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    today = args.today or config.now().astimezone(load_course(COURSE_TEMPLATE).timezone).date()
    day = class_day(folder, today)
    shift = day - CLASS_DAY

    write_course(config.course_file, shift)
    for assignment in ASSIGNMENTS:
        write_folder(SUBMISSIONS / assignment, folder / "class" / assignment, shift)
    token = issue_tokens(config, folder / "tokens.csv")
    for assignment in ASSIGNMENTS:
        run("grade-all", str(folder / "class" / assignment), "-a", assignment, "--queue")
    student, assignment, until = EXTENSION
    run("extension", "add", student, assignment, "--until", (until + shift).isoformat())
    print(guide(token, day, today, folder))
    return 0


def class_day(folder: Path, today: date) -> date:
    """The day an earlier run dated the class to, else `today` (and remembers it)."""
    remembered = folder / DAY_FILE
    if remembered.is_file():
        return date.fromisoformat(remembered.read_text().strip())
    remembered.write_text(f"{today.isoformat()}\n")
    return today


def shifted(text: str, shift: timedelta) -> str:
    """Every ISO-8601 time with an offset in `text`, moved by `shift`."""
    return ISO_TIME.sub(lambda m: (datetime.fromisoformat(m.group()) + shift).isoformat(), text)


def write_course(path: Path, shift: timedelta) -> None:
    """The template's dates moved by `shift` (its comments kept), checked as the grader will read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# Written by scripts/demo_class.py: {COURSE_TEMPLATE.relative_to(REPO_ROOT)} with every date moved by "
              f"{shift.days} days, so that the class stands on {CLASS_DAY + shift}. Rewritten on every demo run.\n")
    path.write_text(header + shifted(COURSE_TEMPLATE.read_text(encoding="utf-8"), shift), encoding="utf-8")
    load_course(path)


def write_folder(source: Path, target: Path, shift: timedelta) -> None:
    """A copy of the files the committed manifest lists, with the manifest's times moved by `shift`.

    Copies, not links: intake reads the bytes, so a copy is the same submission (same hash) as the original.
    """
    target.mkdir(parents=True, exist_ok=True)
    with open(source / MANIFEST_NAME, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        original, copy = source / row["file"], target / row["file"]
        if original.is_dir():
            shutil.copytree(original, copy, dirs_exist_ok=True)
        else:
            shutil.copyfile(original, copy)
        row["submitted_at"] = shifted(row["submitted_at"], shift)
    with open(target / MANIFEST_NAME, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=["student", "file", "submitted_at"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def issue_tokens(config: Config, tokens_file: Path) -> str:
    """SHOWN_STUDENT's token: the one an earlier run wrote down while the gradebook still accepts it,
    else fresh tokens for the whole roster (the gradebook keeps only hashes, so a lost file means new ones)."""
    token = _written_token(tokens_file)
    with Gradebook(config.db_url) as gradebook:
        valid = token is not None and gradebook.student_for_token(token) == SHOWN_STUDENT
    if valid:
        run("roster", "import", str(ROSTER))
        return token
    tokens_file.unlink(missing_ok=True)
    run("roster", "import", str(ROSTER), "--tokens-out", str(tokens_file), "--reissue")
    token = _written_token(tokens_file)
    if token is None:
        raise SystemExit(f"{ROSTER} has no {SHOWN_STUDENT}: the demo has no student to show.")
    return token


def _written_token(tokens_file: Path) -> str | None:
    if not tokens_file.is_file():
        return None
    with open(tokens_file, newline="") as file:
        return next((row["token"] for row in csv.DictReader(file) if row["student_id"] == SHOWN_STUDENT), None)


def run(*argv: str) -> None:
    """One grader command, run in this process: starting Python and importing the grader once for all of them."""
    print(f"$ python -m grader {' '.join(argv)}", file=sys.stderr, flush=True)
    with contextlib.redirect_stdout(sys.stderr):  # standard output is the guide alone
        status = grader(list(argv))
    if status != 0:
        raise SystemExit(f"`python -m grader {' '.join(argv)}` failed (exit status {status}); the demo stops here.")


def guide(token: str, day: date, today: date, folder: Path) -> str:
    """What a newcomer can look at, page by page."""
    student, assignment, _ = EXTENSION
    dated = "" if day == today else (
        f"\n  (The class is dated to {day.isoformat()}, when this demo first ran; delete {folder} to date it to today.)")
    return f"""\
  Scoreboard, Assignment analytics: public pages, students under pseudonyms. The worker grades the
    class oldest submission first (conv_ops, then mnist_convnet, lenet5, resnet, digit_adder), so the
    scoreboard fills while you watch; the digit adder's leaderboard ranks on the public half until its due date.
  My submissions, Submit: sign in as Wang Fang ({SHOWN_STUDENT}) with the token
      {token}
    She handed three assignments in late: the penalties show beside the raw scores. lenet5 is
    closed for uploads (past late_until); resnet and digit_adder are open: try uploading a file from
    {SUBMISSIONS.relative_to(REPO_ROOT)}/resnet. Every student's token: {folder / 'tokens.csv'}.
  Instructor: real names, every grading and regrades, exports, the roster, and {student}'s extension
    for {assignment} (handed in after the due date, on time thanks to it).{dated}"""


if __name__ == "__main__":
    sys.exit(main())
