"""One student's dates for one assignment: when it is due, whether an upload is in its window, how late work is."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from grader.course.policy import Course
from grader.present import duration_text, plural

if TYPE_CHECKING:  # the store's rows, named for the reader; importing them would load SQLAlchemy
    from grader.store.rows import ExtensionRow, SubmissionRow

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Lateness:
    """How late one submission was and what that costs."""

    seconds: float
    """Seconds after the student's due date; 0 when on time (or when there is no due date)."""
    started_days: int
    """Days begun after the due date: 1 for a minute late, 2 for 24 h and a minute."""
    penalty: float
    """The fraction of the points earned taken off: started days x late_penalty_per_day, at most 1."""
    text: str | None
    """The line students see, "late by 1 day 3 h (2 started days): -20%"; None when on time."""

    @property
    def late(self) -> bool:
        return self.started_days > 0


ON_TIME = Lateness(0.0, 0, 0.0, None)


def due_for(course: Course, student_id: str, assignment: str, extensions: Sequence[ExtensionRow] = ()) -> datetime | None:
    """The student's own due date: an extension granted in the gradebook, else one in course.toml, else
    the assignment's. An extension never shortens: an earlier one leaves the due date. None: no deadline."""
    due = course.policy(assignment).due
    if due is None:
        return None
    granted = next((_aware(e.until) for e in extensions
                    if e.student_id == student_id and e.assignment == assignment), None)
    until = granted if granted is not None else course.extensions.get((student_id, assignment))
    return due if until is None else max(due, until)


def close_for(course: Course, student_id: str, assignment: str, extensions: Sequence[ExtensionRow] = ()) -> datetime | None:
    """When uploads stop for this student: late_until, or their extension where it runs later. None: late
    work is accepted for ever, with the penalty."""
    late_until = course.policy(assignment).late_until
    if late_until is None:
        return None
    due = due_for(course, student_id, assignment, extensions)
    return late_until if due is None else max(late_until, due)


def window_refusal(course: Course, student_id: str, assignment: str, when: datetime,
                   extensions: Sequence[ExtensionRow] = ()) -> str | None:
    """Why an upload at `when` is refused, in a sentence that says when the window is; None: accepted.

    The window is [opens, late_until] (both ends included), late_until moved by the student's extension
    where that runs later. Without late_until late uploads are accepted, with the penalty.
    """
    when = _aware(when)
    opens = course.policy(assignment).opens
    close = close_for(course, student_id, assignment, extensions)
    if opens is not None and when < opens:
        return f"{assignment} is not open yet: uploads are accepted {window_text(course, opens, close)}."
    if close is not None and when > close:
        extended = close != course.policy(assignment).late_until
        return (f"{assignment} is closed: uploads were accepted {window_text(course, opens, close)}"
                f"{', your extension included' if extended else ''}.")
    return None


def window_text(course: Course, opens: datetime | None, close: datetime | None) -> str:
    """"from 2026-12-01 08:00 to 2026-12-18 23:59 (Asia/Shanghai)", or only the end that exists."""
    if opens is not None and close is not None:
        return f"from {local_text(course, opens, zone=False)} to {local_text(course, close)}"
    if opens is not None:
        return f"from {local_text(course, opens)}"
    return f"until {local_text(course, close)}" if close is not None else "at any time"


def local_text(course: Course, when: datetime, zone: bool = True) -> str:
    """A time as the course reads it: "2026-12-15 23:59 (Asia/Shanghai)" (seconds shown when not zero)."""
    local = _aware(when).astimezone(course.timezone)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")
    return f"{text} ({course.timezone})" if zone else text


def lateness(submitted_at: datetime, due: datetime | None, per_day: float) -> Lateness:
    """How late `submitted_at` is for `due` (None: never late), with `per_day` off per started day."""
    if due is None or _aware(submitted_at) <= due:
        return ON_TIME
    seconds = (_aware(submitted_at) - due).total_seconds()
    days = math.ceil(seconds / DAY_SECONDS)
    # Rounded so that 3 x 0.1 is 30%, not 30.000000000000004%.
    penalty = min(1.0, round(days * per_day, 6))
    cost = f"-{round(penalty * 100, 2):g}%" if penalty else "no penalty"
    # Whole seconds rounded up, so that half a second late never reads "late by 0 s".
    text = f"late by {duration_text(math.ceil(seconds))} ({days} started day{'s' if days != 1 else ''}): {cost}"
    return Lateness(seconds, days, penalty, text)


def lateness_of(course: Course, submission: SubmissionRow, extensions: Sequence[ExtensionRow] = ()) -> Lateness:
    """The lateness of a stored submission under the course's policy and the student's extension."""
    due = due_for(course, submission.student_id, submission.assignment, extensions)
    per_day = course.policy(submission.assignment).late_penalty_per_day
    return lateness(submission.submitted_at, due, per_day)


def released(course: Course, student_id: str, assignment: str, now: datetime,
             extensions: Sequence[ExtensionRow] = ()) -> bool:
    """Whether the student may see their hidden checks' results now: always with release = "immediately",
    else once their own due date (extension included) has passed."""
    if course.policy(assignment).release == "immediately":
        return True
    due = due_for(course, student_id, assignment, extensions)
    return due is None or _aware(now) >= due


def day_start(course: Course, when: datetime) -> datetime:
    """Midnight in the course's timezone of the day `when` falls in: where max_per_day's count begins."""
    local = _aware(when).astimezone(course.timezone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def daily_limit_refusal(course: Course, assignment: str, uploads_today: int, now: datetime) -> str | None:
    """Why one more upload today is refused under max_per_day, with when the next day begins; None: accepted.
    `uploads_today`: the student's uploads of the assignment since day_start(course, now)."""
    limit = course.policy(assignment).max_per_day
    if limit is None or uploads_today < limit:
        return None
    # Wall-clock arithmetic in the course's timezone: the next midnight, even across a clock change.
    tomorrow = day_start(course, now) + timedelta(days=1)
    return (f"You have uploaded {assignment} {plural(uploads_today, 'time')} today, the most the course allows "
            f"({limit} a day); the next day begins at {local_text(course, tomorrow)}.")


def _aware(when: datetime) -> datetime:
    # The gradebook stores UTC; a time that lost its offset on the way is read as UTC, not as local time.
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
