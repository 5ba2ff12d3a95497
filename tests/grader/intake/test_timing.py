"""When a submission was made: --submitted-at, then the manifest, then the file's modification time."""

import os
from datetime import datetime, timedelta, timezone

import pytest

from grader.intake import parse_time, read_manifest, submission_time

SHANGHAI = timezone(timedelta(hours=8))


def test_the_flag_wins_then_the_manifest_then_the_modification_time(tmp_path):
    path = tmp_path / "s01.py"
    path.write_text("x = 1\n")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    (tmp_path / "manifest.csv").write_text("student,file,submitted_at\ns01_li_wei,s01.py,2026-12-15T23:59:00+08:00\n")
    entry = read_manifest(tmp_path).entry("s01.py")
    flag = datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
    assert submission_time(path, flag=flag, entry=entry).source == "flag"
    by_manifest = submission_time(path, entry=entry)
    assert (by_manifest.at, by_manifest.source) == (datetime(2026, 12, 15, 23, 59, tzinfo=SHANGHAI), "manifest")
    by_file = submission_time(path)
    assert (by_file.at, by_file.source) == (datetime.fromtimestamp(1_700_000_000, timezone.utc), "modified")
    assert "modification time" in by_file.describe()


def test_a_folder_is_as_old_as_its_newest_file(tmp_path):
    folder = tmp_path / "hw"
    folder.mkdir()
    for name, when in (("a.py", 1_700_000_000), ("b.py", 1_700_000_500)):
        (folder / name).write_text("")
        os.utime(folder / name, (when, when))
    os.utime(folder, (1_800_000_000, 1_800_000_000))
    assert submission_time(folder).at == datetime.fromtimestamp(1_700_000_500, timezone.utc)


def test_a_manifest_names_the_student_and_may_leave_the_time_out(tmp_path):
    (tmp_path / "manifest.csv").write_text("student,file,submitted_at,section\nli,a.py,,A\nwang,b.zip,2026-12-02T10:00:00Z,B\n")
    manifest = read_manifest(tmp_path)
    assert manifest.entry("a.py").student == "li" and manifest.entry("a.py").submitted_at is None
    assert manifest.entry("b.zip").submitted_at == datetime(2026, 12, 2, 10, tzinfo=timezone.utc)
    assert manifest.entry("c.py") is None
    assert read_manifest(tmp_path / "nowhere") is None


@pytest.mark.parametrize("text, message", [
    ("file,when\na.py,x\n", "expected the columns student, file, submitted_at"),
    ("student,file\nli,\n", "line 2: expected a student and a file"),
    ("student,file\nli,a.py\nwang,a.py\n", "line 3: a.py is listed twice"),
    ("student,file,submitted_at\nli,a.py,yesterday\n", "submitted_at on line 2"),
    ("student,file,submitted_at\nli,a.py,2026-12-02T10:00:00\n", "with its offset"),
])
def test_a_malformed_manifest_names_the_line(tmp_path, text, message):
    (tmp_path / "manifest.csv").write_text(text)
    with pytest.raises(ValueError, match=message):
        read_manifest(tmp_path)


def test_parse_time_needs_an_offset():
    assert parse_time("2026-12-15T23:59:00+08:00") == datetime(2026, 12, 15, 23, 59, tzinfo=SHANGHAI)
    assert parse_time("2026-12-15T15:59:00Z").utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="offset"):
        parse_time("2026-12-15T23:59:00")
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_time("tomorrow")
