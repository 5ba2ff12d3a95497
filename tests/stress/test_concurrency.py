"""Graders side by side: worker processes sharing one queue, SQLite's single writer, and read-only readers."""

import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import DBAPIError

from tests.stress.helpers import (
    REFERENCE,
    SCORES,
    VERSION,
    WRONG,
    Graders,
    check_gradebook,
    copy_of,
    graded_ids,
    queue,
    queue_class,
    write_class,
)

from grader.cli import main
from grader.config import REPO_ROOT
from grader.grading import grade
from grader.results import CheckResult, GradingReport
from grader.store import Gradebook
from grader.store.schema import utcnow

WORKERS = 4

# A writer in a process of its own: records a report for each submission id given, one transaction each.
WRITER = """
import sys
from grader.results import CheckResult, GradingReport
from grader.store import Gradebook
book = Gradebook(sys.argv[1])
print("ready", flush=True)
for submission_id in map(int, sys.argv[2:]):
    book.record_report(submission_id, GradingReport(
        "conv_ops", None, [CheckResult.scored("runs", 1.0, 1.0, "ok")], grader_version="v1"))
"""

# Holds SQLite's write lock (an open write transaction) for a while, as a long commit of a grader would.
LOCK_HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("UPDATE submissions SET filename = filename")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


def report(points=1.0):
    return GradingReport("conv_ops", None, [CheckResult.scored("runs", 1.0, points, "ok")], grader_version="v1")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grades.db'}"
    return request.getfixturevalue("postgres_database")


# --- worker processes sharing a queue ---

@pytest.mark.parametrize("db_url, count", [
    ("postgresql", 200),
    ("sqlite", 40),
], indirect=["db_url"])
def test_worker_processes_grade_every_queued_submission_exactly_once(db_url, count):
    with Graders(db_url, lease_seconds=120) as graders, Gradebook(db_url) as gradebook:
        expected, ids = {}, {}
        for index in range(count):
            content = REFERENCE if index % 10 == 0 else WRONG  # a correct one now and then: scores differ
            student = f"s{index:03d}"
            ids[student] = queue(gradebook, student, copy_of(content, index))
            expected[student] = SCORES[content]

        started = time.monotonic()
        workers = [graders.start("worker", "--once", "--poll", "0.2") for _ in range(WORKERS)]
        # The site's view meanwhile: a read-only gradebook, read again and again while the workers write.
        reads = []
        with Gradebook(db_url, read_only=True) as reader:
            while any(worker.poll() is None for worker in workers):
                assert time.monotonic() - started < 240, "the workers are too slow"
                reads.append(sum(row.status == "done" for row in reader.finished("conv_ops")))
                time.sleep(0.2)
        seconds = time.monotonic() - started

        outputs = [graders.output(worker) for worker in workers]
        assert [worker.returncode for worker in workers] == [0] * WORKERS, outputs
        # Each worker prints one line per job it graded: together, every submission exactly once.
        per_worker = [graded_ids(out) for out, _ in outputs]
        assert sum(per_worker, Counter()) == Counter(ids.values())
        assert sum(int(re.search(r"Queue empty: graded (\d+) submission", err)[1]) for _, err in outputs) == count
        final = check_gradebook(db_url, expected, finished=True)
        assert {row["attempts"] for row in final.values()} == {1}  # each claimed once, by one worker
        assert reads == sorted(reads), "a reader saw graded submissions disappear"
    print(f"{WORKERS} workers graded {count} submissions in {seconds:.0f} s "
          f"({[sum(c.values()) for c in per_worker]} each); {len(reads)} reads meanwhile")


def test_grade_all_takes_over_a_submission_a_worker_is_grading_and_only_one_result_is_recorded(
        db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET", "stress")
    folder = tmp_path / "class"
    write_class(folder, 1, kinds=(REFERENCE,))
    with Gradebook(db_url) as gradebook:
        [submission_id] = queue_class(gradebook, folder).values()
        assert gradebook.claim_next("worker-1", 600.0).submission.id == submission_id
        worker_recorded = []

        def grade_while_the_worker_finishes(*args, **kwargs):
            # The worker that claimed it first finishes while grade-all grades (its report made up here).
            worker_recorded.append(gradebook.record_report(submission_id, report(0.0), worker_id="worker-1"))
            return grade(*args, **kwargs)

        # The instructor grades the class folder, which holds the same file, while the worker grades it.
        monkeypatch.setattr("grader.jobs.grade", grade_while_the_worker_finishes)
        assert main(["grade-all", str(folder), "--assignment", "conv_ops", "--db", db_url]) == 0

        assert worker_recorded == [None], "grade-all took the claim over: the worker's result is refused"
        stored = check_gradebook(db_url, {"s000": 30.0}, finished=True)["s000"]
        assert (stored["id"], stored["attempts"], [g[:2] for g in stored["gradings"]]) == (
            submission_id, 2, [(VERSION, "done")])


# --- SQLite: one writer at a time, readers never wait ---

def test_sqlite_writers_wait_for_each_other_and_readers_do_not_wait(tmp_path):
    path = tmp_path / "grades.db"
    url = f"sqlite:///{path}"
    hold = 2.0
    with Gradebook(url) as gradebook:
        submission_id = queue(gradebook, "s001", b"x = 1\n")
        holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(path), str(hold)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "locked"
            locked_at = time.monotonic()
            # Without a busy timeout a second writer fails at once:
            impatient = sqlite3.connect(path, timeout=0, isolation_level=None)
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                impatient.execute("BEGIN IMMEDIATE")
            impatient.close()
            # a reader reads the last committed state at once,
            with Gradebook(url, read_only=True) as reader:
                assert reader.submission(submission_id).status == "queued"
            read_seconds = time.monotonic() - locked_at
            # and the gradebook's writer waits its turn, then writes.
            assert gradebook.record_report(submission_id, report()) is not None
            write_seconds = time.monotonic() - locked_at
            assert holder.wait(10) == 0
        finally:
            holder.kill()
        assert gradebook.submission(submission_id).status == "done"
    assert read_seconds < 0.5 * hold < hold - 0.2 < write_seconds, (read_seconds, write_seconds)
    print(f"while another process held the write lock for {hold} s: read in {read_seconds:.3f} s, "
          f"wrote after {write_seconds:.2f} s")


def test_sqlite_readers_read_while_a_writer_commits_many_times(tmp_path):
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    with Gradebook(url) as gradebook:
        ids = [queue(gradebook, f"s{i:03d}", f"x = {i}\n".encode(), "a.py") for i in range(300)]
    # No writer has the file open now: SQLite removed -wal and -shm, and the reader must cope.
    # (The migrations' lock file stays: removing it would let a later opener lock another file.)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.db", "grades.db.migrate.lock"]
    with Gradebook(url, read_only=True) as reader:
        assert len(reader.submissions()) == 300
        writer = subprocess.Popen([sys.executable, "-c", WRITER, url, *map(str, ids)], cwd=REPO_ROOT,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert writer.stdout.readline().strip() == "ready"
            seen = []
            while writer.poll() is None:
                seen.append(sum(row.status == "done" for row in reader.submissions()))
            assert writer.wait(60) == 0
        finally:
            writer.kill()
        seen.append(sum(row.status == "done" for row in reader.submissions()))
    assert seen == sorted(seen) and seen[-1] == 300, seen
    assert len(set(seen)) > 3, f"the reads did not overlap the writes: {seen}"
    print(f"{len(seen)} reads during 300 commits of another process, seeing {len(set(seen))} states")


# --- read-only gradebooks ---

def test_a_read_only_gradebook_reads_everything_and_writes_nothing(db_url):
    with Gradebook(db_url) as gradebook:
        graded = queue(gradebook, "s001", b"x = 1\n")
        earlier = gradebook.record_report(graded, report(0.0))
        gradebook.record_report(graded, report(0.5))
        queued = queue(gradebook, "s002", b"x = 2\n")
        before = gradebook.submissions()

        with Gradebook(db_url, read_only=True) as reader:
            assert reader.submissions() == before
            assert reader.content(queued) == b"x = 2\n"
            assert [(r.student_id, r.score) for r in reader.finished("conv_ops")] == [("s001", 0.5)]
            assert reader.check_results(graded) == report(0.5).checks
            assert [s.id for s in reader.students()] == ["s001", "s002"]
            writes = {
                "add_submission": lambda: queue(reader, "s003", b"x = 3\n"),
                "record_report": lambda: reader.record_report(queued, report()),
                "claim_next": lambda: reader.claim_next("w", 60.0),
                "requeue": lambda: reader.requeue(graded),
                "revert": lambda: reader.revert(graded, earlier),
                "set_extension": lambda: reader.set_extension("s001", "conv_ops", utcnow()),
                "ensure_student": lambda: reader.ensure_student("s001", "Ada"),
                "issue_token": lambda: reader.issue_token("s001"),
            }
            for name, write in writes.items():
                with pytest.raises(DBAPIError, match="read-only|readonly"):
                    write()
        assert gradebook.submissions() == before
        assert [s.display_name for s in gradebook.students()] == [None, None]
        assert gradebook.extensions() == []


def test_a_read_only_gradebook_creates_nothing(tmp_path, postgres_database):
    missing = tmp_path / "not-yet" / "grades.db"
    with pytest.raises(FileNotFoundError, match="No gradebook at"):
        Gradebook(f"sqlite:///{missing}", read_only=True)
    assert not missing.parent.exists()

    with pytest.raises(RuntimeError, match="has no gradebook yet: a grader creates it"):
        Gradebook(postgres_database, read_only=True)
    engine = create_engine(postgres_database)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
