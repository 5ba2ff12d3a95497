"""One student's dates: the due date with extensions, the upload window, lateness and its cost, release."""

from datetime import datetime, timedelta, timezone

import pytest

from grader.course import (NO_COURSE, daily_limit_refusal, day_start, due_for, lateness, lateness_of, local_text,
                           parse_course, released, window_refusal)
from tests.grader.course.factory import COURSE_TOML, KNOWN, SHANGHAI, at, course, extension, submission

DUE = at("2026-12-15 23:59")


@pytest.mark.parametrize("late_by, per_day, days, penalty, text", [
    (timedelta(0), 0.10, 0, 0.0, None),
    (-timedelta(hours=5), 0.10, 0, 0.0, None),
    (timedelta(seconds=0.4), 0.10, 1, 0.10, "late by 1 s (1 started day): -10%"),
    (timedelta(minutes=45), 0.10, 1, 0.10, "late by 45 min (1 started day): -10%"),
    (timedelta(hours=1), 0.10, 1, 0.10, "late by 1 h (1 started day): -10%"),
    (timedelta(days=1), 0.10, 1, 0.10, "late by 1 day (1 started day): -10%"),
    (timedelta(days=1, hours=3), 0.10, 2, 0.20, "late by 1 day 3 h (2 started days): -20%"),
    (timedelta(days=3), 0.10, 3, 0.30, "late by 3 days (3 started days): -30%"),
    (timedelta(days=2, hours=1), 0.125, 3, 0.375, "late by 2 days 1 h (3 started days): -37.5%"),
    (timedelta(days=12), 0.10, 12, 1.0, "late by 12 days (12 started days): -100%"),
    (timedelta(hours=2), 0.0, 1, 0.0, "late by 2 h (1 started day): no penalty"),
])
def test_lateness_counts_started_days_and_caps_the_penalty_at_everything(late_by, per_day, days, penalty, text):
    late = lateness(DUE + late_by, DUE, per_day)
    assert (late.started_days, late.penalty, late.text, late.late) == (days, penalty, text, days > 0)
    assert late.seconds == max(late_by.total_seconds(), 0.0)


def test_without_a_due_date_nothing_is_late():
    assert lateness(DUE + timedelta(days=30), None, 0.5).text is None


@pytest.mark.parametrize("student, granted, expected", [
    ("s01", [], DUE),
    ("s05", [], at("2026-12-17 23:59")),                                          # course.toml's extension
    ("s05", [extension("s05", "lenet5", at("2026-12-16 23:59"))], at("2026-12-16 23:59")),  # the gradebook's wins
    ("s01", [extension("s01", "lenet5", at("2026-12-20 12:00"))], at("2026-12-20 12:00")),
    ("s01", [extension("s01", "lenet5", at("2026-12-10 12:00"))], DUE),            # never shortens
    ("s01", [extension("s02", "lenet5", at("2026-12-20 12:00")),
             extension("s01", "resnet", at("2026-12-20 12:00"))], DUE),            # someone else's, another assignment
])
def test_due_for_takes_the_extension_from_the_gradebook_over_the_file(student, granted, expected):
    assert due_for(course(), student, "lenet5", granted) == expected


def test_due_for_is_none_without_a_due_date():
    assert due_for(course(), "s01", "digit_adder", [extension("s01", "digit_adder", DUE)]) is None
    assert due_for(NO_COURSE, "s01", "lenet5") is None


WINDOW = "from 2026-12-01 08:00 to 2026-12-18 23:59 (Asia/Shanghai)"


@pytest.mark.parametrize("student, when, granted, refusal", [
    ("s01", "2026-11-30 23:59", [], f"lenet5 is not open yet: uploads are accepted {WINDOW}."),
    ("s01", "2026-12-01 08:00", [], None),
    ("s01", "2026-12-16 10:00", [], None),                 # late, with the penalty
    ("s01", "2026-12-18 23:59", [], None),                 # the hard close itself is still open
    ("s01", "2026-12-19 00:00", [], f"lenet5 is closed: uploads were accepted {WINDOW}."),
    ("s01", "2026-12-20 10:00", [extension("s01", "lenet5", at("2026-12-21 12:00"))], None),
    ("s01", "2026-12-21 12:01", [extension("s01", "lenet5", at("2026-12-21 12:00"))],
     "lenet5 is closed: uploads were accepted from 2026-12-01 08:00 to 2026-12-21 12:00 (Asia/Shanghai), "
     "your extension included."),
])
def test_window_refusal_says_when_the_window_is_in_the_course_timezone(student, when, granted, refusal):
    assert window_refusal(course(), student, "lenet5", at(when), granted) == refusal


def test_without_late_until_late_uploads_are_accepted_for_ever():
    # resnet has a due date and a penalty but no hard close.
    assert window_refusal(course(), "s01", "resnet", at("2027-06-01 00:00")) is None
    assert window_refusal(course(), "s01", "resnet", at("2026-11-01 00:00")) == (
        "resnet is not open yet: uploads are accepted from 2026-12-01 08:00 (Asia/Shanghai).")


def test_without_a_course_every_upload_is_accepted():
    assert window_refusal(NO_COURSE, "s01", "lenet5", datetime(1999, 1, 1, tzinfo=timezone.utc)) is None


@pytest.mark.parametrize("student, now, granted, shown", [
    ("s01", "2026-12-15 23:58", [], False),
    ("s01", "2026-12-15 23:59", [], True),
    ("s01", "2026-12-16 10:00", [extension("s01", "resnet", at("2026-12-17 23:59"))], False),
    ("s01", "2026-12-18 00:00", [extension("s01", "resnet", at("2026-12-17 23:59"))], True),
])
def test_after_due_release_waits_for_the_students_own_due_date(student, now, granted, shown):
    assert released(course(), student, "resnet", at(now), granted) is shown


def test_immediate_release_shows_at_once():
    assert released(course(), "s01", "lenet5", at("2026-12-02 00:00"))
    assert released(NO_COURSE, "s01", "lenet5", at("2026-12-02 00:00"))


def test_lateness_of_a_stored_submission_uses_the_students_extension():
    row = submission(1, "s05", "lenet5", at("2026-12-18 10:00"))
    assert lateness_of(course(), row).text == "late by 10 h 1 min (1 started day): -10%"
    assert lateness_of(course(), row, [extension("s05", "lenet5", at("2026-12-18 12:00"))]).text is None


@pytest.mark.parametrize("when, midnight", [
    (datetime(2026, 12, 15, 15, 59, tzinfo=timezone.utc), datetime(2026, 12, 15, tzinfo=SHANGHAI)),
    # 16:00 UTC is midnight in Shanghai: a new day, though UTC's has eight hours to go.
    (datetime(2026, 12, 15, 16, 0, tzinfo=timezone.utc), datetime(2026, 12, 16, tzinfo=SHANGHAI)),
])
def test_days_begin_at_midnight_in_the_course_timezone(when, midnight):
    assert day_start(course(), when) == midnight


def test_local_text_writes_times_in_the_course_timezone():
    assert local_text(course(), datetime(2026, 12, 15, 15, 59, tzinfo=timezone.utc)) == "2026-12-15 23:59 (Asia/Shanghai)"
    assert local_text(course(), datetime(2026, 12, 15, 15, 59, 30, tzinfo=timezone.utc), zone=False) == "2026-12-15 23:59:30"
    assert local_text(NO_COURSE, datetime(2026, 12, 15, 15, 59, tzinfo=timezone.utc)) == "2026-12-15 15:59 (UTC)"


def test_max_per_day_counts_uploads_of_the_course_day_and_says_when_the_next_begins():
    limited = course(COURSE_TOML.replace("[assignments.resnet]\n", "[assignments.resnet]\nmax_per_day = 2\n"))
    now = at("2026-12-10 21:30")
    assert daily_limit_refusal(limited, "resnet", 1, now) is None
    assert daily_limit_refusal(limited, "resnet", 2, now) == (
        "You have uploaded resnet 2 times today, the most the course allows (2 a day); "
        "the next day begins at 2026-12-11 00:00 (Asia/Shanghai).")
    assert daily_limit_refusal(limited, "lenet5", 50, now) is None
    assert daily_limit_refusal(NO_COURSE, "resnet", 50, now) is None


def test_the_next_day_begins_at_midnight_across_a_clock_change():
    berlin = parse_course('timezone = "Europe/Berlin"\n[assignments.lenet5]\nmax_per_day = 1\n', "course.toml", KNOWN)
    # 2026-03-29: clocks go from 02:00 to 03:00 in Berlin; the day is 23 h long.
    refusal = daily_limit_refusal(berlin, "lenet5", 1, datetime(2026, 3, 29, 12, 0, tzinfo=timezone.utc))
    assert refusal.endswith("the next day begins at 2026-03-30 00:00 (Europe/Berlin).")
