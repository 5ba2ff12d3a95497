"""course.toml: the course's windows, late policy and extensions, read once into frozen dataclasses."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grader.config import REPO_ROOT

COURSE_FILE = "course.toml"
"""The default course file, at the repository root."""
COURSE_ENV = "GRADER_COURSE"
"""The environment variable naming a course file when --course is not given."""
COUNTS = ("last", "best")
RELEASES = ("immediately", "after_due")
_MISSING = object()
TIME_EXAMPLE = 'a date and time such as "2026-12-15T23:59:00+08:00" (without an offset: the course\'s timezone)'


class CourseError(ValueError):
    """The course file cannot be read or says something the grader cannot apply.

    The message names the file and the field, and says what it got and what was expected.
    """


@dataclass(frozen=True)
class AssignmentPolicy:
    """One [assignments.NAME] table of course.toml; every field is optional."""

    opens: datetime | None = None
    """Uploads before this are refused; None: open from the start."""
    due: datetime | None = None
    """Work after this is late; None: no deadline (nothing is ever late)."""
    late_penalty_per_day: float = 0.0
    """A fraction of the points earned taken off per started day late, 0 <= x <= 1 (0.10 is 10%)."""
    late_until: datetime | None = None
    """Hard close: uploads after this are refused and do not count; None: late work is accepted
    for ever, with the penalty (which stops at 100%)."""
    counts: Literal["last", "best"] = "last"
    """Which of the submissions that count makes the grade: the newest, or the best after penalty."""
    max_per_day: int | None = None
    """Uploads per student per day (a day in the course's timezone) the site accepts; None: the
    site's own rate limit alone."""
    release: Literal["immediately", "after_due"] = "immediately"
    """When students see their hidden checks' results: at once, or only after their due date
    (their extension included)."""
    canvas_column: str | None = None
    """The column header of this assignment in a Canvas export, e.g. "LeNet-5 (123456)", so that a
    Canvas import fills that assignment; None: the assignment's name (Canvas creates a new one)."""


NO_POLICY = AssignmentPolicy()
"""The policy of an assignment course.toml does not mention: no window, no penalty, the last counts."""


@dataclass(frozen=True)
class Course:
    """The whole of course.toml."""

    timezone: tzinfo
    """Where days begin and end (max_per_day) and what times without an offset mean (IANA name)."""
    assignments: Mapping[str, AssignmentPolicy] = field(default_factory=lambda: MappingProxyType({}))
    """Per assignment name, in the file's order."""
    extensions: Mapping[tuple[str, str], datetime] = field(default_factory=lambda: MappingProxyType({}))
    """(student id, assignment) -> that student's own due date, from [extensions]. One granted in the
    gradebook (`extension add`) wins over this one."""
    source: Path | None = None
    """The file it was read from; None when there is no course file."""

    def policy(self, assignment: str) -> AssignmentPolicy:
        """The assignment's policy; one the file does not mention has none (NO_POLICY)."""
        return self.assignments.get(assignment, NO_POLICY)


NO_COURSE = Course(timezone=ZoneInfo("UTC"))
"""No course file: no windows, no penalties, the last submission counts, days in UTC."""


def course_path(flag: str | Path | None, environ: Mapping[str, str], root: Path = REPO_ROOT) -> Path | None:
    """The course file to use: --course FILE, else $GRADER_COURSE, else course.toml at the root if it
    exists, else None (no course)."""
    if flag:
        return Path(flag)
    if environ.get(COURSE_ENV):
        return Path(environ[COURSE_ENV])
    default = root / COURSE_FILE
    return default if default.is_file() else None


def load_course(path: Path | None, known: Sequence[str] | None = None) -> Course:
    """Reads and checks a course file; None gives NO_COURSE. `known`: the assignment names the file may
    mention (default: grader.assignment.assignment_names()). Raises CourseError."""
    if path is None:
        return NO_COURSE
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CourseError(f"{path}: no such file. Expected the course file that --course or "
                          f"{COURSE_ENV} names (see course.example.toml).") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(f"{path}: cannot be read as UTF-8 text ({error}).") from None
    return parse_course(text, Path(path), known)


def parse_course(text: str, source: Path | str, known: Sequence[str] | None = None) -> Course:
    """course.toml's text as a Course; see load_course."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CourseError(f"{source}: not valid TOML: {error}.") from None
    if known is None:
        from grader.assignment import assignment_names  # imports NumPy: only when a file is read
        known = assignment_names()
    return _Parser(str(source), list(known)).course(data)


class _Parser:
    """Reads the parsed TOML, field by field, and says precisely what is wrong."""

    def __init__(self, source: str, known: list[str]):
        self.source, self.known = source, known
        self.zone: tzinfo = NO_COURSE.timezone

    def fail(self, name: str, got: Any, expected: str) -> CourseError:
        return CourseError(f"{self.source}: {name}: got {_describe(got)}, expected {expected}.")

    def course(self, data: dict[str, Any]) -> Course:
        self.unknown_keys("the top level", data, ("timezone", "assignments", "extensions"))
        self.zone = self.timezone(data.get("timezone"))
        assignments = self.table("assignments", data.get("assignments", {}))
        policies = {name: self.assignment(name, value) for name, value in assignments.items()}
        extensions = self.extensions(self.table("extensions", data.get("extensions", {})), policies)
        return Course(self.zone, MappingProxyType(policies), MappingProxyType(extensions), Path(self.source))

    def timezone(self, value: Any) -> tzinfo:
        expected = 'an IANA timezone name such as "Asia/Shanghai" or "Europe/Berlin"'
        if not isinstance(value, str):
            raise self.fail("timezone", _MISSING if value is None else value, expected)
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise self.fail("timezone", value, expected) from None

    def table(self, name: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(name, value, f"a table ([{name}])")
        return value

    def unknown_keys(self, where: str, table: dict[str, Any], allowed: Sequence[str]) -> None:
        for key in table:
            if key not in allowed:
                raise CourseError(f"{self.source}: {where}: got an unknown key {key!r}, "
                                  f"expected one of {', '.join(allowed)}.")

    def assignment_name(self, name: str, where: str) -> None:
        if name not in self.known:
            raise self.fail(where, name, f"an assignment name: one of {', '.join(self.known)}")

    def assignment(self, name: str, value: Any) -> AssignmentPolicy:
        where = f"assignments.{name}"
        self.assignment_name(name, f"[{where}]")
        table = self.table(where, value)
        self.unknown_keys(f"[{where}]", table, [f.name for f in fields(AssignmentPolicy)])
        policy = AssignmentPolicy(
            opens=self.time(f"{where}.opens", table.get("opens")),
            due=self.time(f"{where}.due", table.get("due")),
            late_penalty_per_day=self.fraction(f"{where}.late_penalty_per_day", table.get("late_penalty_per_day", 0.0)),
            late_until=self.time(f"{where}.late_until", table.get("late_until")),
            counts=self.choice(f"{where}.counts", table.get("counts", "last"), COUNTS),
            max_per_day=self.count(f"{where}.max_per_day", table.get("max_per_day")),
            release=self.choice(f"{where}.release", table.get("release", "immediately"), RELEASES),
            canvas_column=self.text(f"{where}.canvas_column", table.get("canvas_column")),
        )
        self.consistent(where, policy)
        return policy

    def consistent(self, where: str, policy: AssignmentPolicy) -> None:
        if policy.due is None:
            needs_due = (("late_until", policy.late_until is not None),
                         ("late_penalty_per_day", policy.late_penalty_per_day > 0),
                         ("release", policy.release == "after_due"))
            for name, given in needs_due:
                if given:
                    raise self.fail(f"{where}.{name}", getattr(policy, name),
                                    f"no {name} without a due date (add {where}.due)")
            return
        if policy.opens is not None and policy.opens >= policy.due:
            raise self.fail(f"{where}.opens", policy.opens, f"a time before due ({policy.due.isoformat()})")
        if policy.late_until is not None and policy.late_until < policy.due:
            raise self.fail(f"{where}.late_until", policy.late_until,
                            f"a time at or after due ({policy.due.isoformat()}): the hard close ends the late period")

    def extensions(self, table: dict[str, Any], policies: dict[str, AssignmentPolicy]) -> dict[tuple[str, str], datetime]:
        extensions = {}
        for student, granted in table.items():
            where = f"extensions.{student}"
            if not isinstance(granted, dict):
                raise self.fail(where, granted, '{ ASSIGNMENT = "ISO-8601 time" }')
            for assignment, value in granted.items():
                name = f"{where}.{assignment}"
                self.assignment_name(assignment, name)
                due = policies.get(assignment, NO_POLICY).due
                if due is None:
                    raise CourseError(f"{self.source}: {name}: got an extension of {assignment}, which has no due "
                                      f"date; expected [assignments.{assignment}] with a due date.")
                until = self.time(name, value)
                if until < due:
                    raise self.fail(name, until, f"a time at or after due ({due.isoformat()}): an extension never "
                                    f"shortens the time to submit")
                extensions[(student, assignment)] = until
        return extensions

    def time(self, name: str, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str) and len(value.strip()) > len("2026-12-15"):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise self.fail(name, value, TIME_EXAMPLE) from None
        # TOML's own datetimes arrive parsed; a bare date or time is not a moment.
        if not isinstance(value, datetime):
            raise self.fail(name, value, TIME_EXAMPLE)
        return value if value.tzinfo is not None else value.replace(tzinfo=self.zone)

    def fraction(self, name: str, value: Any) -> float:
        expected = "a fraction of the points per started day late, from 0 to 1 (0.10 is 10%)"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(name, value, expected)
        if not 0 <= value <= 1:
            raise self.fail(name, value, expected)
        return float(value)

    def count(self, name: str, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(name, value, "a whole number of uploads per day, at least 1")
        return value

    def choice(self, name: str, value: Any, choices: Sequence[str]) -> Any:
        if value not in choices or not isinstance(value, str):
            raise self.fail(name, value, " or ".join(f'"{choice}"' for choice in choices))
        return value

    def text(self, name: str, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, value, 'a column header such as "LeNet-5 (123456)"')
        return value


def _describe(value: Any) -> str:
    """A TOML value as the error message shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if value is _MISSING:
        return "nothing"
    return repr(value)
