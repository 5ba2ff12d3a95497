"""course.toml: what it says, in which timezone, and what a mistake in it reads like."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.course import NO_COURSE, AssignmentPolicy, CourseError, course_path, load_course, parse_course
from grader.course.policy import NO_POLICY
from grader.config import REPO_ROOT
from tests.grader.course.factory import KNOWN, SHANGHAI, course

PLUS_8 = timezone(timedelta(hours=8))


def test_the_issue_example_reads_field_by_field():
    policy = course().policy("lenet5")
    assert policy == AssignmentPolicy(
        opens=datetime(2026, 12, 1, 8, 0, tzinfo=PLUS_8), due=datetime(2026, 12, 15, 23, 59, tzinfo=PLUS_8),
        late_penalty_per_day=0.10, late_until=datetime(2026, 12, 18, 23, 59, tzinfo=PLUS_8))
    assert (policy.counts, policy.max_per_day, policy.release, policy.canvas_column) == ("last", None, "immediately", None)
    assert course().extensions == {("s05", "lenet5"): datetime(2026, 12, 17, 23, 59, tzinfo=PLUS_8)}


def test_an_assignment_the_file_does_not_mention_has_no_deadlines():
    assert course().policy("digit_adder") == NO_POLICY
    assert NO_POLICY.due is None and NO_POLICY.counts == "last" and NO_POLICY.release == "immediately"


@pytest.mark.parametrize("written, expected", [
    ('"2026-12-15T23:59:00+08:00"', datetime(2026, 12, 15, 15, 59, tzinfo=timezone.utc)),
    ('"2026-12-15T15:59:00Z"', datetime(2026, 12, 15, 15, 59, tzinfo=timezone.utc)),
    # No offset: the course's timezone, not the machine's and not UTC.
    ('"2026-12-15T23:59:00"', datetime(2026, 12, 15, 15, 59, tzinfo=timezone.utc)),
    ('"2026-12-15 23:59"', datetime(2026, 12, 15, 15, 59, tzinfo=timezone.utc)),
    ("2026-12-15T23:59:00", datetime(2026, 12, 15, 15, 59, tzinfo=timezone.utc)),
    ("2026-12-15T10:59:00-05:00", datetime(2026, 12, 15, 15, 59, tzinfo=timezone.utc)),
])
def test_times_with_an_offset_keep_it_and_times_without_one_are_in_the_course_timezone(written, expected):
    text = f'timezone = "Asia/Shanghai"\n[assignments.lenet5]\ndue = {written}\n'
    due = parse_course(text, "course.toml", KNOWN).policy("lenet5").due
    assert due == expected and due.utcoffset() is not None


def test_a_local_time_follows_daylight_saving_time_in_its_timezone():
    text = 'timezone = "Europe/Berlin"\n[assignments.lenet5]\nopens = "2026-03-01T09:00"\ndue = "2026-04-01T09:00"\n'
    policy = parse_course(text, "course.toml", KNOWN).policy("lenet5")
    assert policy.opens.utcoffset() == timedelta(hours=1) and policy.due.utcoffset() == timedelta(hours=2)


def test_the_course_timezone_is_kept_for_days_and_display():
    assert course().timezone == SHANGHAI


LENET = 'timezone = "Asia/Shanghai"\n[assignments.lenet5]\nopens = "2026-12-01T08:00"\ndue = "2026-12-15T23:59"\n'


@pytest.mark.parametrize("text, expected", [
    ("timezone = \n", "course.toml: not valid TOML"),
    ("[assignments.lenet5]\n", "course.toml: timezone: got nothing, expected an IANA timezone name such as \"Asia/Shanghai\""),
    ('timezone = "Mars/Olympus"\n', "course.toml: timezone: got 'Mars/Olympus', expected an IANA timezone name"),
    ('timezone = "America"\n', "course.toml: timezone: got 'America', expected an IANA timezone name"),
    ('timezone = "UTC"\nsemester = "fall"\n',
     "course.toml: the top level: got an unknown key 'semester', expected one of timezone, assignments, extensions."),
    ('timezone = "UTC"\n[assignments.lenet6]\n',
     "course.toml: [assignments.lenet6]: got 'lenet6', expected an assignment name: one of digit_adder, lenet5, resnet."),
    (LENET + "late_penalty = 0.1\n",
     "course.toml: [assignments.lenet5]: got an unknown key 'late_penalty', expected one of opens, due, "
     "late_penalty_per_day, late_until, counts, max_per_day, release, canvas_column."),
    (LENET + 'late_until = "2026-12-14T23:59"\n',
     "course.toml: assignments.lenet5.late_until: got 2026-12-14T23:59:00+08:00, expected a time at or after due "
     "(2026-12-15T23:59:00+08:00): the hard close ends the late period."),
    ('timezone = "UTC"\n[assignments.lenet5]\nopens = "2026-12-16T00:00Z"\ndue = "2026-12-15T23:59Z"\n',
     "course.toml: assignments.lenet5.opens: got 2026-12-16T00:00:00+00:00, expected a time before due"),
    (LENET + "late_penalty_per_day = -0.1\n",
     "course.toml: assignments.lenet5.late_penalty_per_day: got -0.1, expected a fraction of the points per started "
     "day late, from 0 to 1 (0.10 is 10%)."),
    (LENET + "late_penalty_per_day = 10\n", "late_penalty_per_day: got 10, expected a fraction"),
    (LENET + 'late_penalty_per_day = "10%"\n', "late_penalty_per_day: got '10%', expected a fraction"),
    (LENET + "late_penalty_per_day = nan\n", "late_penalty_per_day: got nan, expected a fraction"),
    (LENET + 'counts = "first"\n', 'assignments.lenet5.counts: got \'first\', expected "last" or "best".'),
    (LENET + 'release = "never"\n', 'assignments.lenet5.release: got \'never\', expected "immediately" or "after_due".'),
    (LENET + "max_per_day = 0\n", "max_per_day: got 0, expected a whole number of uploads per day, at least 1."),
    (LENET + "max_per_day = 2.5\n", "max_per_day: got 2.5, expected a whole number"),
    (LENET + "max_per_day = true\n", "max_per_day: got true, expected a whole number"),
    (LENET + 'canvas_column = ""\n', "canvas_column: got '', expected a column header"),
    ('timezone = "UTC"\n[assignments.lenet5]\ndue = "next friday"\n',
     "assignments.lenet5.due: got 'next friday', expected a date and time such as \"2026-12-15T23:59:00+08:00\""),
    ('timezone = "UTC"\n[assignments.lenet5]\ndue = "2026-12-15"\n',
     "assignments.lenet5.due: got '2026-12-15', expected a date and time"),
    ('timezone = "UTC"\n[assignments.lenet5]\ndue = 2026-12-15\n', "assignments.lenet5.due: got 2026-12-15, expected a date and time"),
    ('timezone = "UTC"\n[assignments.lenet5]\ndue = 23:59:00\n', "assignments.lenet5.due: got 23:59:00, expected a date and time"),
    ('timezone = "UTC"\n[assignments.lenet5]\nlate_until = "2026-12-18T23:59Z"\n',
     "assignments.lenet5.late_until: got 2026-12-18T23:59:00+00:00, expected no late_until without a due date "
     "(add assignments.lenet5.due)."),
    ('timezone = "UTC"\n[assignments.lenet5]\nrelease = "after_due"\n', "expected no release without a due date"),
    ('timezone = "UTC"\nassignments = 3\n', "course.toml: assignments: got 3, expected a table ([assignments])."),
    ('timezone = "UTC"\nassignments = { lenet5 = "soon" }\n', "course.toml: assignments.lenet5: got 'soon', expected a table"),
    (LENET + '[extensions]\ns05 = "2026-12-17T23:59"\n',
     "course.toml: extensions.s05: got '2026-12-17T23:59', expected { ASSIGNMENT = \"ISO-8601 time\" }."),
    (LENET + '[extensions]\ns05 = { lenet6 = "2026-12-17T23:59" }\n',
     "extensions.s05.lenet6: got 'lenet6', expected an assignment name: one of digit_adder, lenet5, resnet."),
    (LENET + '[extensions]\ns05 = { resnet = "2026-12-17T23:59" }\n',
     "extensions.s05.resnet: got an extension of resnet, which has no due date; expected [assignments.resnet] with a due date."),
    (LENET + '[extensions]\ns05 = { lenet5 = "2026-12-14T23:59" }\n',
     "extensions.s05.lenet5: got 2026-12-14T23:59:00+08:00, expected a time at or after due (2026-12-15T23:59:00+08:00): "
     "an extension never shortens the time to submit."),
], ids=lambda value: value[:40] if isinstance(value, str) else None)
def test_a_mistake_names_the_file_the_field_what_it_got_and_what_was_expected(text, expected):
    with pytest.raises(CourseError) as raised:
        parse_course(text, "course.toml", KNOWN)
    assert expected in str(raised.value)


def test_unknown_assignments_are_checked_against_the_repository_by_default():
    with pytest.raises(CourseError, match="expected an assignment name: one of .*lenet5"):
        parse_course('timezone = "UTC"\n[assignments.lenet6]\n', "course.toml")


def test_the_committed_example_is_a_valid_course():
    example = load_course(REPO_ROOT / "course.example.toml")
    assert example.source == REPO_ROOT / "course.example.toml"
    assert example.policy("lenet5").counts == "best" and example.policy("lenet5").max_per_day == 5
    assert example.policy("conv_ops").late_until is None


def test_load_course_reads_a_file_and_says_which_one_is_missing(tmp_path):
    path = tmp_path / "course.toml"
    path.write_text(LENET, encoding="utf-8")
    assert load_course(path, KNOWN).policy("lenet5").due == datetime(2026, 12, 15, 23, 59, tzinfo=SHANGHAI)
    with pytest.raises(CourseError, match=f"{tmp_path / 'other.toml'}: no such file"):
        load_course(tmp_path / "other.toml", KNOWN)
    path.write_text('timezone = "UTC"\n[assignments.lenet5]\ncounts = "first"\n', encoding="utf-8")
    with pytest.raises(CourseError, match=f"^{path}: assignments.lenet5.counts"):
        load_course(path, KNOWN)


def test_no_course_file_means_no_course():
    assert load_course(None) is NO_COURSE
    assert NO_COURSE.source is None and NO_COURSE.assignments == {} and NO_COURSE.policy("lenet5") == NO_POLICY


@pytest.mark.parametrize("flag, environ, root_has_file, expected", [
    ("mine.toml", {"GRADER_COURSE": "env.toml"}, True, Path("mine.toml")),
    (None, {"GRADER_COURSE": "env.toml"}, True, Path("env.toml")),
    (None, {"GRADER_COURSE": ""}, True, "ROOT"),
    (None, {}, True, "ROOT"),
    (None, {}, False, None),
])
def test_course_path_is_the_flag_else_the_environment_else_the_root_file(tmp_path, flag, environ, root_has_file, expected):
    if root_has_file:
        (tmp_path / "course.toml").write_text('timezone = "UTC"\n', encoding="utf-8")
    found = course_path(flag, environ, root=tmp_path)
    assert found == (tmp_path / "course.toml" if expected == "ROOT" else expected)
