"""The gradebook on SQLite and PostgreSQL: submissions, regrading, latest results, errors, pseudonyms."""

import hashlib
import re
import threading

import pytest
from sqlalchemy import func, select, text

from grader.config import Config
from grader.results import CheckResult, GradingReport
from grader.store import Gradebook
from grader.store.gradebook import ANIMALS, SQLITE_BUSY_TIMEOUT_MS, pseudonym
from grader.store.schema import CheckRow, Setting


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def submit(gradebook, student="s001", assignment="lenet5", content=b"model = build()\n"):
    return gradebook.add_submission(student, assignment, "lenet5.py", content, sha(content))


def report(version="v1", assignment="lenet5", points=(2.0, 3.0, 0.0)):
    names = ("builds", "output_shape", "accuracy")
    checks = [CheckResult.scored(name, 5.0, p / 5.0, f"{name}: {p}/5") for name, p in zip(names, points)]
    return GradingReport(assignment, "s001", checks, notes=["ran on CPU"], device="CPU: test",
                         execution_seconds=1.5, grader_version=version, instructor_log="log " + version)


def count_check_rows(gradebook, submission_id, grader_version=None) -> int:
    query = select(func.count()).select_from(CheckRow).where(CheckRow.submission_id == submission_id)
    if grader_version is not None:
        query = query.where(CheckRow.grader_version == grader_version)
    with gradebook.engine.connect() as connection:
        return connection.scalar(query)


def test_identical_bytes_return_the_existing_submission(gradebook):
    first, created = submit(gradebook, content=b"v1")
    again, created_again = submit(gradebook, content=b"v1")
    other, created_other = submit(gradebook, content=b"v2")

    assert (created, created_again, created_other) == (True, False, True)
    assert again == first and other != first
    assert [s["id"] for s in gradebook.submissions(student_id="s001")] == [first, other]
    stored = gradebook.submission(first)
    assert (stored["content"], stored["filename"], stored["status"], stored["score"]) == (b"v1", "lenet5.py", "queued", None)
    assert stored["submitted_at"].tzinfo is not None
    assert "content" not in gradebook.submissions()[0]


def test_same_bytes_for_another_assignment_or_student_are_new_submissions(gradebook):
    first, _ = submit(gradebook, content=b"same")
    other_assignment, created_a = submit(gradebook, assignment="resnet", content=b"same")
    other_student, created_s = submit(gradebook, student="s002", content=b"same")
    assert (created_a, created_s) == (True, True)
    assert len({first, other_assignment, other_student}) == 3
    assert [s["student_id"] for s in gradebook.submissions(assignment="lenet5")] == ["s001", "s002"]


def test_find_graded_only_for_the_same_content_and_grader_version(gradebook):
    submission_id, _ = submit(gradebook, content=b"code")
    assert gradebook.find_graded("s001", "lenet5", sha(b"code"), "v1") is None

    gradebook.record_report(submission_id, report("v1"))

    assert gradebook.find_graded("s001", "lenet5", sha(b"code"), "v1") == submission_id
    assert gradebook.find_graded("s001", "lenet5", sha(b"code"), "v2") is None
    assert gradebook.find_graded("s001", "lenet5", sha(b"other"), "v1") is None
    assert gradebook.find_graded("s002", "lenet5", sha(b"code"), "v1") is None

    # Queued again (say, by an instructor after fixing a check): no longer to be skipped.
    gradebook.set_status(submission_id, "queued")
    assert gradebook.find_graded("s001", "lenet5", sha(b"code"), "v1") is None


def test_regrading_with_the_same_version_replaces_and_a_new_version_adds(gradebook):
    submission_id, _ = submit(gradebook)
    gradebook.record_report(submission_id, report("v1", points=(2.0, 3.0, 0.0)))
    assert count_check_rows(gradebook, submission_id) == 3

    gradebook.record_report(submission_id, report("v1", points=(5.0, 5.0, 4.0)))
    assert count_check_rows(gradebook, submission_id) == 3
    assert [c.points for c in gradebook.check_results(submission_id)] == [5.0, 5.0, 4.0]

    gradebook.record_report(submission_id, report("v2", points=(1.0, 1.0, 1.0)))
    assert count_check_rows(gradebook, submission_id) == 6
    assert count_check_rows(gradebook, submission_id, "v1") == 3
    assert [c.points for c in gradebook.check_results(submission_id, "v1")] == [5.0, 5.0, 4.0]
    assert [c.points for c in gradebook.check_results(submission_id)] == [1.0, 1.0, 1.0]

    stored = gradebook.submission(submission_id)
    assert (stored["status"], stored["score"], stored["max_score"], stored["grader_version"]) == ("done", 3.0, 15.0, "v2")
    assert (stored["notes"], stored["device"], stored["execution_seconds"]) == (["ran on CPU"], "CPU: test", 1.5)
    assert stored["instructor_log"] == "log v2" and stored["graded_at"] is not None


def test_a_regrade_with_fewer_checks_leaves_no_stale_rows(gradebook):
    submission_id, _ = submit(gradebook)
    gradebook.record_report(submission_id, report("v1"))
    fewer = report("v1")
    fewer.checks = fewer.checks[:2]
    gradebook.record_report(submission_id, fewer)
    assert [c.name for c in gradebook.check_results(submission_id)] == ["builds", "output_shape"]
    assert gradebook.submission(submission_id)["max_score"] == 10.0


def test_a_bad_report_changes_nothing(gradebook):
    submission_id, _ = submit(gradebook)
    gradebook.record_report(submission_id, report("v1"))
    duplicated = report("v1")
    duplicated.checks = duplicated.checks + duplicated.checks[:1]
    with pytest.raises(ValueError, match="unique check names"):
        gradebook.record_report(submission_id, duplicated)
    with pytest.raises(ValueError, match="'resnet'"):
        gradebook.record_report(submission_id, report("v1", assignment="resnet", points=(0.0, 0.0, 0.0)))
    assert [c.points for c in gradebook.check_results(submission_id)] == [2.0, 3.0, 0.0]
    assert gradebook.submission(submission_id)["score"] == 5.0


def test_check_results_keep_the_assignment_order_and_every_field(gradebook):
    submission_id, _ = submit(gradebook)
    checks = [
        CheckResult("zeta", 1.0, 1.0, "passed", "ok"),
        CheckResult("alpha", 0.5, 2.0, "partial", "got (3, 2), expected (2, 3)", hidden=True),
        CheckResult("mu", 0.0, 3.0, "error", "timed out after 60 s"),
    ]
    gradebook.record_report(submission_id, GradingReport("lenet5", "s001", checks, grader_version="v1"))
    assert gradebook.check_results(submission_id) == checks


def test_latest_results_show_the_newest_finished_submission(gradebook):
    gradebook.ensure_student("s001", "Ada Lovelace")
    old, _ = submit(gradebook, content=b"old")
    gradebook.record_report(old, report("v1", points=(5.0, 5.0, 5.0)))
    new, _ = submit(gradebook, content=b"new")
    gradebook.record_report(new, report("v1", points=(1.0, 0.0, 0.0)))
    submit(gradebook, content=b"still queued")
    other, _ = submit(gradebook, student="s002", content=b"x")
    gradebook.record_report(other, report("v1", points=(2.0, 2.0, 2.0)))
    elsewhere, _ = submit(gradebook, assignment="resnet", content=b"y")
    gradebook.record_report(elsewhere, report("v1", assignment="resnet"))

    rows = gradebook.latest_results("lenet5")

    assert [(r["student_id"], r["submission_id"], r["score"], r["status"]) for r in rows] == [
        ("s001", new, 1.0, "done"), ("s002", other, 6.0, "done")]
    assert rows[0]["display_name"] == "Ada Lovelace" and rows[1]["display_name"] is None
    assert rows[0]["pseudonym"] != rows[1]["pseudonym"]
    assert rows[0]["max_score"] == 15.0 and rows[0]["graded_at"].tzinfo is not None
    assert [(r["assignment"], r["student_id"]) for r in gradebook.latest_results()] == [
        ("lenet5", "s001"), ("lenet5", "s002"), ("resnet", "s001")]


def test_a_grader_error_is_recorded_without_a_score(gradebook):
    graded, _ = submit(gradebook, content=b"graded")
    gradebook.record_report(graded, report("v1"))
    broken, _ = submit(gradebook, content=b"broken")

    gradebook.record_error(broken, "The autograder failed on your code; staff have been told.", "Traceback ...")

    stored = gradebook.submission(broken)
    assert (stored["status"], stored["score"], stored["max_score"]) == ("error", None, None)
    assert stored["notes"] == ["The autograder failed on your code; staff have been told."]
    assert stored["instructor_log"] == "Traceback ..."
    assert gradebook.find_graded("s001", "lenet5", sha(b"broken"), "v1") is None
    assert [(r["submission_id"], r["status"], r["score"]) for r in gradebook.latest_results()] == [
        (broken, "error", None)]


def test_an_error_on_regrade_keeps_the_earlier_check_rows_as_history(gradebook):
    submission_id, _ = submit(gradebook)
    gradebook.record_report(submission_id, report("v1"))
    gradebook.record_error(submission_id, "failed", "Traceback ...")
    assert gradebook.check_results(submission_id) == []
    assert len(gradebook.check_results(submission_id, "v1")) == 3
    assert gradebook.find_graded("s001", "lenet5", sha(b"model = build()\n"), "v1") is None


def test_set_status_and_its_errors(gradebook):
    submission_id, _ = submit(gradebook)
    gradebook.set_status(submission_id, "grading")
    assert gradebook.submission(submission_id)["status"] == "grading"
    with pytest.raises(ValueError, match="status='finished'"):
        gradebook.set_status(submission_id, "finished")
    with pytest.raises(LookupError, match="No submission with id 9999"):
        gradebook.set_status(9999, "done")
    with pytest.raises(ValueError, match="64 lowercase hex"):
        gradebook.add_submission("s001", "lenet5", "a.py", b"x", "not-a-hash")


def test_ensure_student_keeps_one_row_and_updates_the_display_name(gradebook):
    gradebook.ensure_student("s001")
    gradebook.ensure_student("s001", "Grace Hopper")
    gradebook.ensure_student("s001")
    students = gradebook.students()
    assert [(s["id"], s["display_name"]) for s in students] == [("s001", "Grace Hopper")]


def test_pseudonyms_are_stable_unique_and_do_not_spell_out_the_id(gradebook_url):
    # Folder names can be anything, including a word the pseudonyms are made of.
    student_ids = [f"s{n:03d}" for n in range(60)] + list(ANIMALS)
    with Gradebook(gradebook_url) as gradebook:
        for student_id in student_ids:
            gradebook.ensure_student(student_id)
        first = {s["id"]: s["pseudonym"] for s in gradebook.students()}
    with Gradebook(gradebook_url) as reopened:
        reopened.ensure_student("s000", "New Name")
        second = {s["id"]: s["pseudonym"] for s in reopened.students()}

    assert second == first and len(first) == len(student_ids)
    assert len(set(first.values())) == len(first)
    assert all(re.fullmatch(r"[a-z]+-[a-z]+-\d\d", name) for name in first.values()), first
    assert [i for i, name in first.items() if i.lower() in name] == []


def test_a_pseudonym_that_would_contain_the_id_is_passed_over(gradebook_url):
    # A key under which some animal's first pseudonym names that same animal, so the guard must act.
    key, student_id = next((key, animal) for key in (f"key{n}" for n in range(10_000)) for animal in ANIMALS
                           if animal in pseudonym(animal, key.encode()))
    with Gradebook(gradebook_url) as gradebook, gradebook.engine.begin() as connection:
        connection.execute(Setting.__table__.update().where(Setting.name == "pseudonym_key").values(value=key))
    with Gradebook(gradebook_url) as gradebook:
        gradebook.ensure_student(student_id)
        assert gradebook.students()[0]["pseudonym"] == pseudonym(student_id, key.encode(), attempt=1)


def test_pseudonyms_depend_on_the_gradebook_key_not_only_on_the_id(tmp_path):
    # Otherwise anyone with this code could turn "brave-otter-07" back into "s001".
    names = []
    for book in ("a", "b"):
        with Gradebook(f"sqlite:///{tmp_path / book / 'grades.db'}") as gradebook:
            gradebook.ensure_student("s001")
            names.append(gradebook.students()[0]["pseudonym"])
    assert names[0] != names[1]


def test_from_config_uses_the_configured_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'from_env' / 'grades.db'}"
    config = Config.from_env({"GRADER_DB_URL": url})
    with Gradebook.from_config(config) as gradebook:
        submit(gradebook)
    assert (tmp_path / "from_env" / "grades.db").is_file()
    assert Config.from_env({}).db_url.endswith("/var/grades.db")


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys(tmp_path):
    path = tmp_path / "not" / "yet" / "there" / "grades.db"
    with Gradebook(f"sqlite:///{path}") as gradebook:
        with gradebook.engine.connect() as first, gradebook.engine.connect() as second:
            for connection in (first, second):
                assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
                assert connection.scalar(text("PRAGMA busy_timeout")) == SQLITE_BUSY_TIMEOUT_MS == 30000
                assert connection.scalar(text("PRAGMA foreign_keys")) == 1
    assert path.is_file()


def test_parallel_graders_on_sqlite_wait_for_each_other(tmp_path):
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    with Gradebook(url) as setup:
        ids = [submit(setup, student=f"s{n:03d}")[0] for n in range(8)]
    failures = []

    def grade(submission_ids):
        # Each thread is its own grader with its own engine, as separate processes would be.
        with Gradebook(url) as gradebook:
            try:
                for submission_id in submission_ids:
                    for version in ("v1", "v1", "v2"):
                        gradebook.record_report(submission_id, report(version))
            except Exception as error:
                failures.append(error)

    threads = [threading.Thread(target=grade, args=(ids[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    with Gradebook(url) as gradebook:
        assert [r["status"] for r in gradebook.latest_results()] == ["done"] * 8
        assert sum(count_check_rows(gradebook, i) for i in ids) == 8 * 6


def test_a_report_the_database_refuses_becomes_a_grader_error_at_once(gradebook):
    # Text is made safe where it enters (grader.text); if something unsafe gets through all the
    # same, the submission must not stay "grading" until its lease runs out.
    submission_id, _ = submit(gradebook)
    gradebook.claim(submission_id, "worker-1", lease_seconds=600)
    unstorable = report()
    unstorable.checks[0] = CheckResult.scored("builds", 5.0, 0.0, "lone surrogate \ud800 in a message")
    assert gradebook.record_report_or_error(submission_id, unstorable, worker_id="worker-1") is False
    stored = gradebook.submission(submission_id)
    assert (stored["status"], stored["score"], stored["claimed_by"]) == ("error", None, None)
    assert stored["notes"] == ["The grader could not store the result of this grading; the course staff will look "
                               "at it."]
    assert "record_report failed 2 times" in stored["instructor_log"]


def test_a_storable_report_is_recorded_by_record_report_or_error(gradebook):
    submission_id, _ = submit(gradebook)
    assert gradebook.record_report_or_error(submission_id, report()) is True
    assert gradebook.submission(submission_id)["status"] == "done"
