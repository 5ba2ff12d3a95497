"""`grade`, `grade-all`, `regrade`: one path into the gradebook, submission times, the course's final grade."""

import json
import os
from datetime import datetime, timezone

import pytest

from grader import cli
from grader.cli.options import USAGE_ERROR
from grader.config import REPO_ROOT
from grader.store import Gradebook

REFERENCE = (REPO_ROOT / "reference" / "conv_ops.py").read_bytes()
SYNTAX_ERROR = (REPO_ROOT / "tests" / "fixtures" / "submissions" / "syntax_error.py").read_bytes()


def write(path, data: bytes, mtime: float | None = None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_grade_prints_the_stored_submission_and_the_final_grade_with_its_late_line(env, tmp_path, capsys):
    options, db = env
    path = write(tmp_path / "hw" / "s01_li_wei.py", REFERENCE)
    assert cli.main(["grade", str(path), "-a", "conv_ops", "--submitted-at", "2026-12-02T03:00:00+08:00",
                     *options]) == 0
    out = capsys.readouterr().out
    assert "Stored as submission 1 (grading 1)." in out
    assert "Note: Submitted 2026-12-01T19:00+00:00 (given with --submitted-at)." in out
    assert "Final grade for conv_ops: 24/30 (raw 30/30; late by 1 day 3 h (2 started days): -20%" in out, out
    with Gradebook(db) as gradebook:
        stored = gradebook.submission(1)
    assert (stored.student_id, stored.time_source, stored.submitted_at) == (
        "s01_li_wei", "flag", datetime(2026, 12, 1, 19, 0, tzinfo=timezone.utc))


def test_grade_json_carries_the_submission_id_as_extra_data(env, tmp_path, capsys):
    options, _ = env
    path = write(tmp_path / "s02.py", REFERENCE)
    assert cli.main(["grade", str(path), "-a", "conv_ops", "--json", *options]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["extra_data"] == {"submission_id": 1}
    assert results["score"] == 30.0


def test_grade_without_a_time_says_it_took_the_files_modification_time(env, tmp_path, capsys):
    options, db = env
    path = write(tmp_path / "s03.py", REFERENCE, mtime=datetime(2026, 11, 20, tzinfo=timezone.utc).timestamp())
    assert cli.main(["grade", str(path), "-a", "conv_ops", *options]) == 0
    assert "the file's modification time" in capsys.readouterr().out
    with Gradebook(db) as gradebook:
        assert gradebook.submission(1).time_source == "modified"


def test_a_path_intake_refuses_is_the_users_mistake_and_nothing_is_stored(env, tmp_path, capsys):
    options, db = env
    folder = tmp_path / "s04"
    write(folder / "solution.py", REFERENCE)
    (folder / "data.py").symlink_to("/etc/passwd")
    assert cli.main(["grade", str(folder), "-a", "conv_ops", *options]) == USAGE_ERROR
    assert "symbolic link (data.py)" in capsys.readouterr().err
    with Gradebook(db) as gradebook:
        assert gradebook.submissions() == []


def test_grade_all_reads_students_and_times_from_the_manifest_and_skips_what_is_graded(env, tmp_path, capsys):
    options, db = env
    class_dir = tmp_path / "class"
    write(class_dir / "upload-1.py", REFERENCE)
    write(class_dir / "upload-2.py", SYNTAX_ERROR)
    write(class_dir / "s03_folder" / "solution.py", REFERENCE)
    (class_dir / "manifest.csv").write_text("student,file,submitted_at\n"
                                            "s01_li_wei,upload-1.py,2026-11-30T20:00:00+08:00\n"
                                            "s02_wang_fang,upload-2.py,2026-12-01T01:00:00+08:00\n")
    assert cli.main(["grade-all", str(class_dir), "-a", "conv_ops", *options]) == 0
    err = capsys.readouterr().err
    assert "Graded 3 submissions of conv_ops" in err
    with Gradebook(db) as gradebook:
        stored = {s.student_id: s for s in gradebook.submissions()}
    assert sorted(stored) == ["s01_li_wei", "s02_wang_fang", "s03_folder"]
    assert (stored["s01_li_wei"].time_source, stored["s01_li_wei"].score) == ("manifest", 30.0)
    assert (stored["s02_wang_fang"].status, stored["s02_wang_fang"].score) == ("done", 0.0)
    assert (stored["s03_folder"].filename, stored["s03_folder"].kind, stored["s03_folder"].time_source) == (
        "s03_folder.zip", "zip", "modified")

    assert cli.main(["grade-all", str(class_dir), "-a", "conv_ops", *options]) == 0
    assert capsys.readouterr().err.count("unchanged, skipped") == 3


def test_grade_all_queue_stores_for_the_worker_and_lists_what_intake_refused(env, tmp_path, capsys):
    options, db = env
    class_dir = tmp_path / "class"
    write(class_dir / "s01.py", REFERENCE)
    write(class_dir / "s02.py", b"#" * (6 * 2**20))
    assert cli.main(["grade-all", str(class_dir), "-a", "conv_ops", "--queue", *options]) == 0
    err = capsys.readouterr().err
    assert "s01: queued as submission 1" in err
    assert "Refused at intake, nothing stored (1):\n  s02: s02.py is 6 MiB; the limit is 5 MiB." in err
    with Gradebook(db) as gradebook:
        assert [(s.student_id, s.status) for s in gradebook.submissions()] == [("s01", "queued")]


def test_regrade_keeps_every_grading_and_revert_brings_an_earlier_one_back(env, tmp_path, capsys):
    options, db = env
    path = write(tmp_path / "s01.py", REFERENCE)
    assert cli.main(["grade", str(path), "-a", "conv_ops", *options]) == 0
    assert cli.main(["regrade", "1", *options]) == 0
    out = capsys.readouterr().out
    assert "submission 1 (s01, conv_ops): 30/30 -> 30/30 (grading 2); no check changed" in out
    assert cli.main(["history", "1", *options]) == 0
    history = capsys.readouterr().out
    assert history.count(" done ") == 2 and history.rstrip().endswith("<- current")
    assert cli.main(["revert", "1", "1", *options]) == 0
    assert "Submission 1 now shows grading 1: 30/30." in capsys.readouterr().out
    with Gradebook(db) as gradebook:
        assert [g.is_current for g in gradebook.gradings(1)] == [True, False]


@pytest.mark.parametrize("selection, message", [
    ([], "Expected what to regrade"),
    (["1", "--all"], "Expected what to regrade"),
    (["7"], "No submission with id 7"),
])
def test_regrade_needs_exactly_one_selection(env, selection, message, capsys):
    options, _ = env
    assert cli.main(["regrade", *selection, *options]) == USAGE_ERROR
    assert message in capsys.readouterr().err


def test_regrade_by_student_queues_only_theirs(env, tmp_path, capsys):
    options, db = env
    for student in ("s01", "s02"):
        assert cli.main(["grade-all", str(write(tmp_path / student / f"{student}.py", REFERENCE).parent),
                         "-a", "conv_ops", "--queue", *options]) == 0
    with Gradebook(db) as gradebook:
        for submission in gradebook.submissions():
            gradebook.claim(submission.id, "someone:1:0", 60)
    assert cli.main(["regrade", "--student", "s02", "--queue", *options]) == 0
    assert "Queued 1 submission for the worker." in capsys.readouterr().err
    with Gradebook(db) as gradebook:
        assert [(s.student_id, s.status) for s in gradebook.submissions()] == [("s01", "grading"), ("s02", "queued")]


def test_queue_stores_a_folder_of_submissions_for_the_workers_as_grade_all_reads_it(env, tmp_path, capsys):
    options, db = env
    class_dir = tmp_path / "class"
    write(class_dir / "s01.py", REFERENCE)
    write(class_dir / "s02" / "conv_ops.py", REFERENCE)  # a folder per student, stored as s02.zip
    assert cli.main(["queue", str(class_dir), "-a", "conv_ops", *options]) == 0
    assert "Queued 2 submissions of conv_ops" in capsys.readouterr().err
    with Gradebook(db) as gradebook:
        assert [(s.student_id, s.status, s.filename) for s in gradebook.submissions()] == [
            ("s01", "queued", "s01.py"), ("s02", "queued", "s02.zip")]
