"""The gradebook on SQLite and PostgreSQL: submissions, typed rows, grader errors, pseudonyms, SQLite settings."""

import hashlib
import re
import threading
from dataclasses import FrozenInstanceError
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from grader.config import Config
from grader.intake import TIME_SOURCES as INTAKE_TIME_SOURCES
from grader.intake import Artifact
from grader.results import CheckResult, GradingReport
from grader.store import Gradebook
from grader.store.gradebook import ANIMALS, SQLITE_BUSY_TIMEOUT_MS, pseudonym
from grader.store.schema import TIME_SOURCES, CheckRow, Setting
from tests.grader.store.helpers import T0, report, submit


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def count_check_rows(gradebook) -> int:
    with gradebook.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(CheckRow))


def test_identical_bytes_return_the_existing_submission(gradebook):
    first, created = submit(gradebook, content=b"v1", submitted_at=T0, time_source="flag")
    again, created_again = submit(gradebook, content=b"v1", filename="renamed.py")
    other, created_other = submit(gradebook, content=b"v2", submitted_at=T0 + timedelta(minutes=1))

    assert (created, created_again, created_other) == (True, False, True)
    assert again == first and other != first
    assert [s.id for s in gradebook.submissions(student_id="s001")] == [first, other]
    stored = gradebook.submission(first)
    assert (stored.filename, stored.kind, stored.size_bytes, stored.content_hash) == ("lenet5.py", "py", 2, sha(b"v1"))
    assert (stored.submitted_at, stored.time_source, stored.status, stored.attempts) == (T0, "flag", "queued", 0)
    assert (stored.grading, stored.score, stored.notes, stored.grader_version) == (None, None, (), None)
    assert gradebook.content(first) == b"v1"
    assert [s.id for s in gradebook.students()] == ["s001"]


@pytest.mark.parametrize(("filename", "kind"), [("a.py", "py"), ("hw1.ipynb", "ipynb"), ("folder.zip", "zip"),
                                                 ("Upper.PY", "py")])
def test_the_kind_comes_from_the_artifact(gradebook, filename, kind):
    submission_id, _ = submit(gradebook, filename=filename)
    assert gradebook.submission(submission_id).kind == kind


def test_same_bytes_for_another_assignment_or_student_are_new_submissions(gradebook):
    first, _ = submit(gradebook, content=b"same")
    other_assignment, created_a = submit(gradebook, assignment="resnet", content=b"same")
    other_student, created_s = submit(gradebook, student="s002", content=b"same")
    assert (created_a, created_s) == (True, True)
    assert len({first, other_assignment, other_student}) == 3
    assert [s.student_id for s in gradebook.submissions(assignment="lenet5")] == ["s001", "s002"]


def test_submissions_come_in_the_order_they_were_made(gradebook):
    late, _ = submit(gradebook, content=b"late", submitted_at=T0 + timedelta(hours=1), time_source="manifest")
    early, _ = submit(gradebook, content=b"early", submitted_at=T0, time_source="manifest")
    assert [s.id for s in gradebook.submissions()] == [early, late]


@pytest.mark.parametrize(("change", "message"), [
    ({"time_source": "guessed"}, "time_source='guessed'"),
    ({"status": "done"}, "status='done'"),
    ({"submitted_at": datetime(2026, 12, 1, 8, 0)}, "timezone-aware"),
    ({"artifact": Artifact("a.py", b"x", "not-a-hash")}, "64 lowercase hex"),
    ({"artifact": Artifact("a.py", b"x", sha(b"y"))}, "sha256 of the content of 'a.py'"),
    ({"artifact": Artifact.of("a.txt", b"x")}, "kind='txt'"),
])
def test_add_submission_refuses_what_it_cannot_store(gradebook, change, message):
    arguments = {"artifact": Artifact.of("a.py", b"x"), "submitted_at": T0, "time_source": "received", **change}
    with pytest.raises(ValueError, match=re.escape(message)):
        gradebook.add_submission("s001", "lenet5", **arguments)
    assert gradebook.submissions() == []


def test_the_stores_time_sources_are_intakes():
    assert TIME_SOURCES == INTAKE_TIME_SOURCES


def test_unknown_ids_say_so(gradebook):
    for call in (lambda: gradebook.submission(9999), lambda: gradebook.content(9999),
                 lambda: gradebook.gradings(9999), lambda: gradebook.check_results(9999),
                 lambda: gradebook.requeue(9999), lambda: gradebook.record_report(9999, report())):
        with pytest.raises(LookupError, match="No submission with id 9999"):
            call()
    assert gradebook.student("nobody") is None


def test_find_graded_only_for_the_same_content_and_current_grader_version(gradebook):
    submission_id, _ = submit(gradebook, content=b"code")
    assert gradebook.find_graded("s001", "lenet5", sha(b"code"), "v1") is None

    gradebook.record_report(submission_id, report("v1"))

    assert gradebook.find_graded("s001", "lenet5", sha(b"code"), "v1") == submission_id
    assert gradebook.find_graded("s001", "lenet5", sha(b"code"), "v2") is None
    assert gradebook.find_graded("s001", "lenet5", sha(b"other"), "v1") is None
    assert gradebook.find_graded("s002", "lenet5", sha(b"code"), "v1") is None

    # Queued again (say, by an instructor after fixing a check): no longer to be skipped.
    gradebook.requeue(submission_id)
    assert gradebook.find_graded("s001", "lenet5", sha(b"code"), "v1") is None


def test_a_recorded_report_becomes_the_current_grading(gradebook):
    submission_id, _ = submit(gradebook)
    grading_id = gradebook.record_report(submission_id, report("v2", points=(1.0, 1.0, 1.0)))

    stored = gradebook.submission(submission_id)
    assert (stored.status, stored.score, stored.max_score, stored.grader_version) == ("done", 3.0, 15.0, "v2")
    assert (stored.notes, stored.device, stored.execution_seconds) == (("ran on CPU",), "CPU: test", 1.5)
    assert stored.instructor_log == "log v2" and stored.graded_at.tzinfo is not None
    assert (stored.grading.id, stored.grading.is_current, stored.grading.worker_id) == (grading_id, True, None)
    assert [c.points for c in gradebook.check_results(submission_id)] == [1.0, 1.0, 1.0]


def test_rows_are_frozen(gradebook):
    submission_id, _ = submit(gradebook)
    gradebook.record_report(submission_id, report())
    stored = gradebook.submission(submission_id)
    with pytest.raises(FrozenInstanceError):
        stored.status = "queued"
    with pytest.raises(FrozenInstanceError):
        stored.grading.score = 15.0
    assert isinstance(stored.notes, tuple)


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
    assert gradebook.submission(submission_id).score == 5.0
    assert len(gradebook.gradings(submission_id)) == 1


def test_check_results_keep_the_assignment_order_and_every_field(gradebook):
    submission_id, _ = submit(gradebook)
    checks = [
        CheckResult("zeta", 1.0, 1.0, "passed", "ok"),
        CheckResult("alpha", 0.5, 2.0, "partial", "got (3, 2), expected (2, 3)", hidden=True,
                    measures={"correct": 931, "total": 1000, "public_correct": 466, "public_total": 500}),
        CheckResult("mu", 0.0, 3.0, "error", "timed out after 60 s"),
    ]
    gradebook.record_report(submission_id, GradingReport("lenet5", "s001", checks, grader_version="v1"))
    assert gradebook.check_results(submission_id) == checks


def test_a_grader_error_is_recorded_without_a_score(gradebook):
    graded, _ = submit(gradebook, content=b"graded")
    gradebook.record_report(graded, report("v1"))
    broken, _ = submit(gradebook, content=b"broken")

    grading_id = gradebook.record_error(broken, "The autograder failed on your code; staff have been told.",
                                        "Traceback ...")

    stored = gradebook.submission(broken)
    assert (stored.status, stored.score, stored.max_score, stored.grader_version) == ("error", None, None, None)
    assert (stored.grading.id, stored.grading.status) == (grading_id, "error")
    assert stored.notes == ("The autograder failed on your code; staff have been told.",)
    assert stored.instructor_log == "Traceback ..."
    assert gradebook.check_results(broken) == []
    assert gradebook.find_graded("s001", "lenet5", sha(b"broken"), "v1") is None


def test_finished_gives_every_submission_with_a_current_grading(gradebook):
    gradebook.ensure_student("s002")
    old, _ = submit(gradebook, content=b"old", submitted_at=T0)
    gradebook.record_report(old, report("v1", points=(5.0, 5.0, 5.0)))
    new, _ = submit(gradebook, content=b"new", submitted_at=T0 + timedelta(hours=1))
    gradebook.record_report(new, report("v1", points=(1.0, 0.0, 0.0)))
    submit(gradebook, content=b"still queued", submitted_at=T0 + timedelta(hours=2))
    failed, _ = submit(gradebook, student="s002", content=b"x", submitted_at=T0)
    gradebook.record_error(failed, "The grader failed.", "Traceback ...")
    elsewhere, _ = submit(gradebook, assignment="resnet", content=b"y", submitted_at=T0)
    gradebook.record_report(elsewhere, report("v1", assignment="resnet"))
    regrading, _ = submit(gradebook, student="s002", content=b"z", submitted_at=T0 + timedelta(hours=1))
    gradebook.record_report(regrading, report("v1"))
    gradebook.requeue(regrading)

    rows = gradebook.finished("lenet5")

    assert [(r.student_id, r.id, r.status, r.score) for r in rows] == [
        ("s001", old, "done", 15.0), ("s001", new, "done", 1.0), ("s002", failed, "error", None),
        ("s002", regrading, "queued", 5.0)]
    assert [(r.assignment, r.id) for r in gradebook.finished()] == [
        *(("lenet5", r.id) for r in rows), ("resnet", elsewhere)]


def test_ensure_student_keeps_one_row_and_updates_the_display_name(gradebook):
    gradebook.ensure_student("s001")
    gradebook.ensure_student("s001", "Grace Hopper")
    gradebook.ensure_student("s001")
    [student] = gradebook.students()
    assert (student.id, student.display_name, student.has_token) == ("s001", "Grace Hopper", False)
    assert gradebook.student("s001") == student and student.created_at.tzinfo is not None


def test_pseudonyms_are_stable_unique_and_do_not_spell_out_the_id(gradebook_url):
    # Folder names can be anything, including a word the pseudonyms are made of.
    student_ids = [f"s{n:03d}" for n in range(60)] + list(ANIMALS)
    with Gradebook(gradebook_url) as gradebook:
        for student_id in student_ids:
            gradebook.ensure_student(student_id)
        first = {s.id: s.pseudonym for s in gradebook.students()}
    with Gradebook(gradebook_url) as reopened:
        reopened.ensure_student("s000", "New Name")
        second = {s.id: s.pseudonym for s in reopened.students()}

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
        assert gradebook.students()[0].pseudonym == pseudonym(student_id, key.encode(), attempt=1)


def test_pseudonyms_depend_on_the_gradebook_key_not_only_on_the_id(tmp_path):
    # Otherwise anyone with this code could turn "brave-otter-07" back into "s001".
    names = []
    for book in ("a", "b"):
        with Gradebook(f"sqlite:///{tmp_path / book / 'grades.db'}") as gradebook:
            gradebook.ensure_student("s001")
            names.append(gradebook.students()[0].pseudonym)
    assert names[0] != names[1]


def test_from_config_uses_the_configured_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'from_env' / 'grades.db'}"
    config = Config.from_env({"GRADER_DB_URL": url})
    with Gradebook.from_config(config) as gradebook:
        submit(gradebook)
    assert (tmp_path / "from_env" / "grades.db").is_file()
    assert Config.from_env({}).db_url.endswith("/var/grades.db")


def test_an_in_memory_sqlite_gradebook_is_refused():
    # Its migrations would run on another connection, and so on another database.
    with pytest.raises(ValueError, match="a SQLite file"):
        Gradebook("sqlite://")


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
        assert [(r.status, r.grader_version) for r in gradebook.finished()] == [("done", "v2")] * 8
        assert [len(gradebook.gradings(i)) for i in ids] == [3] * 8
        assert count_check_rows(gradebook) == 8 * 3 * 3


def test_a_report_the_database_refuses_becomes_a_grader_error_at_once(gradebook):
    # Text is made safe where it enters (grader.text); if something unsafe gets through all the
    # same, the submission must not stay "grading" until its lease runs out.
    submission_id, _ = submit(gradebook)
    gradebook.claim(submission_id, "worker-1", lease_seconds=600)
    unstorable = report()
    unstorable.checks[0] = CheckResult.scored("builds", 5.0, 0.0, "lone surrogate \ud800 in a message")
    grading_id = gradebook.record_report_or_error(submission_id, unstorable, worker_id="worker-1")
    stored = gradebook.submission(submission_id)
    assert (stored.status, stored.score, stored.claimed_by, stored.grading.id) == ("error", None, None, grading_id)
    assert stored.notes == ("The grader could not store the result of this grading; the course staff will look "
                            "at it.",)
    assert "record_report failed 2 times" in stored.instructor_log
    assert [g.status for g in gradebook.gradings(submission_id)] == ["error"]


def test_a_storable_report_is_recorded_by_record_report_or_error(gradebook):
    submission_id, _ = submit(gradebook)
    grading_id = gradebook.record_report_or_error(submission_id, report())
    assert gradebook.submission(submission_id).grading.id == grading_id
    assert gradebook.submission(submission_id).status == "done"
