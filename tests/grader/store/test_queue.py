"""The gradebook as a work queue: claims, leases, the retry cap, regrades, upload tokens, rate counts."""

import hashlib
import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from grader.config import REPO_ROOT
from grader.results import CheckResult, GradingReport
from grader.store.schema import Base, Submission, utcnow
from tests.grader.store.helpers import submit

LEASE = 600.0

# A claimer in a process of its own: says "ready", waits for "go" so that all start together,
# claims until the queue is empty and prints the ids it got as JSON.
CLAIMER = """
import json, sys
from grader.store import Gradebook
book = Gradebook(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
claimed = []
while (job := book.claim_next(sys.argv[2], 600.0)) is not None:
    claimed.append(job.submission.id)
print(json.dumps(claimed), flush=True)
"""


def queue(gradebook, n, assignment="conv_ops"):
    return [submit(gradebook, f"s{i:03d}", assignment, f"job {i}".encode(), "conv_ops.py")[0] for i in range(n)]


def expire_lease(gradebook, submission_id):
    """As if the claiming worker had died long ago."""
    with gradebook.engine.begin() as connection:
        connection.execute(update(Submission).where(Submission.id == submission_id)
                           .values(lease_expires_at=utcnow() - timedelta(seconds=1)))


def report(assignment="conv_ops", points=1.0):
    return GradingReport(assignment, "s000", [CheckResult.scored("runs", 1.0, points, "ok")], grader_version="v1")


def test_identical_bytes_are_not_queued_again(gradebook):
    first, created = submit(gradebook, "s001", "conv_ops", b"code", "conv_ops.py")
    gradebook.record_report(first, report())
    again, created_again = submit(gradebook, "s001", "conv_ops", b"code", "renamed.py")

    assert (created, created_again, again) == (True, False, first)
    stored = gradebook.submission(first)
    assert (stored.status, stored.filename, stored.attempts) == ("done", "conv_ops.py", 0)
    assert stored.content_hash == hashlib.sha256(b"code").hexdigest()
    assert [s.id for s in gradebook.students()] == ["s001"]


def test_claims_come_oldest_first_with_content_lease_and_attempt(gradebook):
    ids = queue(gradebook, 3)
    before = utcnow()

    claimed = [gradebook.claim_next(f"host:1:{n}", LEASE) for n in range(3)]

    assert [job.submission.id for job in claimed] == ids
    first = claimed[0].submission
    assert (first.status, first.claimed_by, first.attempts, claimed[0].content) == (
        "grading", "host:1:0", 1, b"job 0")
    assert before + timedelta(seconds=LEASE) <= first.lease_expires_at <= utcnow() + timedelta(seconds=LEASE)
    assert gradebook.submission(ids[2]).claimed_by == "host:1:2"
    assert gradebook.claim_next("host:1:3", LEASE) is None


def test_claim_on_an_empty_queue_returns_none(gradebook):
    assert gradebook.claim_next("w", LEASE) is None


def test_claim_takes_the_named_submission_whatever_its_status(gradebook):
    done, waiting = queue(gradebook, 2)
    gradebook.claim_next("worker", LEASE)
    gradebook.record_report(done, report(), worker_id="worker")
    gradebook.claim_next("worker", LEASE)

    regrade = gradebook.claim(done, "grade-cli", LEASE)
    taken = gradebook.claim(waiting, "grade-cli", LEASE)

    assert (regrade.submission.id, regrade.submission.status, regrade.submission.attempts) == (done, "grading", 2)
    assert (regrade.content, regrade.submission.score) == (b"job 0", 1.0)  # the current grading until recorded
    assert (taken.submission.claimed_by, taken.content) == ("grade-cli", b"job 1")
    assert gradebook.record_report(waiting, report(), worker_id="worker") is None
    with pytest.raises(LookupError, match="No submission with id 9999"):
        gradebook.claim(9999, "grade-cli", LEASE)


def test_finished_and_unleased_submissions_are_not_claimed(gradebook):
    done, error = queue(gradebook, 2)
    gradebook.record_report(done, report())
    gradebook.record_error(error, "The grader failed.", "Traceback ...")
    # Stored as grading, without a lease (`grade` and `grade-all` claim theirs under a lease).
    submit(gradebook, "s100", "conv_ops", b"by hand", status="grading")
    assert gradebook.claim_next("w", LEASE) is None


def test_an_expired_lease_is_claimed_again_and_counts_an_attempt(gradebook):
    [job] = queue(gradebook, 1)
    gradebook.claim_next("crashed", LEASE)
    assert gradebook.claim_next("other", LEASE) is None  # the lease still runs

    expire_lease(gradebook, job)
    taken = gradebook.claim_next("other", LEASE)

    assert (taken.submission.id, taken.submission.claimed_by, taken.submission.attempts) == (job, "other", 2)
    # The first worker, if it was only slow, finds out and does not overwrite the new claim.
    assert gradebook.renew_lease(job, "crashed", LEASE) is False
    assert gradebook.record_report(job, report(), worker_id="crashed") is None
    assert gradebook.record_error(job, "The grader failed.", "Traceback ...", worker_id="crashed") is None
    assert gradebook.release(job, worker_id="crashed") is False
    grading_id = gradebook.record_report(job, report(), worker_id="other")
    assert [(g.id, g.worker_id) for g in gradebook.gradings(job)] == [(grading_id, "other")]
    assert gradebook.submission(job).status == "done"


def test_renew_lease_extends_only_the_holders_claim(gradebook):
    [job] = queue(gradebook, 1)
    claimed = gradebook.claim_next("w", 5.0)
    assert gradebook.renew_lease(job, "w", LEASE) is True
    assert gradebook.submission(job).lease_expires_at > claimed.submission.lease_expires_at + timedelta(seconds=500)
    assert gradebook.renew_lease(job, "someone-else", LEASE) is False


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_a_submission_that_keeps_killing_workers_becomes_a_grader_error(gradebook, max_attempts):
    crashing, fine = queue(gradebook, 2)
    for attempt in range(1, max_attempts + 1):
        job = gradebook.claim_next(f"w{attempt}", LEASE, max_attempts)
        assert (job.submission.id, job.submission.attempts) == (crashing, attempt)
        expire_lease(gradebook, crashing)

    # Not handed out again: marked an error, and the next submission comes instead.
    assert gradebook.claim_next("w", LEASE, max_attempts).submission.id == fine

    stored = gradebook.submission(crashing)
    assert (stored.status, stored.score, stored.claimed_by, stored.lease_expires_at) == ("error", None, None, None)
    assert stored.notes == (f"The grader failed {max_attempts} times on this submission; "
                            "the course staff will look at it.",)
    assert f"w{max_attempts}" in stored.instructor_log
    assert [g.status for g in gradebook.gradings(crashing)] == ["error"]


def test_release_hands_the_job_back_without_counting_the_attempt(gradebook):
    [job] = queue(gradebook, 1)
    gradebook.claim_next("w1", LEASE)
    assert gradebook.release(job, worker_id="someone-else") is False
    assert gradebook.release(job, worker_id="w1") is True

    stored = gradebook.submission(job)
    assert (stored.status, stored.attempts, stored.claimed_by, stored.lease_expires_at) == ("queued", 0, None, None)
    assert gradebook.claim_next("w2", LEASE).submission.attempts == 1
    gradebook.record_report(job, report())
    assert gradebook.release(job) is False
    assert gradebook.submission(job).status == "done"


def test_recording_clears_the_claim(gradebook):
    graded, failed = queue(gradebook, 2)
    gradebook.claim_next("w", LEASE)
    gradebook.claim_next("w", LEASE)
    assert gradebook.record_report(graded, report(), worker_id="w") is not None
    assert gradebook.record_error(failed, "The grader failed.", "Traceback ...", worker_id="w") is not None
    for job, status in ((graded, "done"), (failed, "error")):
        stored = gradebook.submission(job)
        assert (stored.status, stored.claimed_by, stored.lease_expires_at) == (status, None, None)
        assert stored.grading.worker_id == "w"


def test_requeue_and_requeue_matching_start_over(gradebook):
    conv = queue(gradebook, 2, "conv_ops")  # students s000 and s001
    [lenet] = queue(gradebook, 1, "lenet5")  # student s000
    for _ in range(3):
        gradebook.claim_next("w", LEASE)
    gradebook.record_report(conv[0], report())
    gradebook.record_error(conv[1], "The grader failed.", "Traceback ...")

    gradebook.requeue(conv[0])
    stored = gradebook.submission(conv[0])
    assert (stored.status, stored.attempts, stored.score) == ("queued", 0, 1.0)  # the current grading stays
    with pytest.raises(LookupError, match="No submission with id 9999"):
        gradebook.requeue(9999)

    assert gradebook.requeue_matching(assignment="conv_ops") == conv
    assert gradebook.submission(lenet).status == "grading"
    assert gradebook.requeue_matching(student_id="s001", assignment="lenet5") == []
    # A worker still grading when the instructor regrades loses its claim and records nothing.
    assert gradebook.requeue_matching(student_id="s000") == [conv[0], lenet]
    assert gradebook.record_report(lenet, report("lenet5"), worker_id="w") is None
    assert gradebook.requeue_matching() == [*conv, lenet]
    assert [(s.status, s.attempts, s.claimed_by) for s in gradebook.submissions()] == [("queued", 0, None)] * 3


def test_threads_sharing_a_gradebook_never_claim_the_same_job(gradebook):
    ids = queue(gradebook, 30)
    claims: dict[str, list[int]] = {}
    start = threading.Barrier(3)

    def claimer(name):
        start.wait()
        mine = claims.setdefault(name, [])
        while (job := gradebook.claim_next(name, LEASE)) is not None:
            mine.append(job.submission.id)

    threads = [threading.Thread(target=claimer, args=(f"t{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every_claim = sorted(i for mine in claims.values() for i in mine)
    assert every_claim == ids
    assert {s.attempts for s in gradebook.submissions()} == {1}


def test_processes_never_claim_the_same_job(gradebook, gradebook_url):
    # Separate processes, as several `python -m grader worker` on one machine or on many.
    ids = queue(gradebook, 30)
    claimers = [subprocess.Popen([sys.executable, "-c", CLAIMER, gradebook_url, f"p{n}"], cwd=REPO_ROOT,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for n in range(3)]
    try:
        for claimer in claimers:
            assert claimer.stdout.readline().strip() == "ready"
        for claimer in claimers:
            claimer.stdin.write("go\n")
            claimer.stdin.flush()
        claims = [json.loads(claimer.communicate(timeout=60)[0]) for claimer in claimers]
    finally:
        for claimer in claimers:
            claimer.kill()
    assert sorted(i for mine in claims for i in mine) == ids
    assert {s.claimed_by for s in gradebook.submissions()} <= {"p0", "p1", "p2"}


def test_tokens_are_stored_hashed_and_identify_the_student(gradebook):
    gradebook.ensure_student("s001")
    gradebook.ensure_student("s002")
    token = gradebook.issue_token("s001")
    gradebook.set_token("s002", "chosen-by-staff")

    assert len(token) == 22 and token != gradebook.issue_token("s002")
    assert gradebook.student_for_token(token) == "s001"
    assert gradebook.student_for_token(token[:-1]) is None
    assert gradebook.student_for_token("") is None
    assert [s.has_token for s in gradebook.students()] == [True, True]
    assert gradebook.student_for_token("chosen-by-staff") is None  # replaced by the issue_token above

    replaced = gradebook.issue_token("s001")
    assert (gradebook.student_for_token(token), gradebook.student_for_token(replaced)) == (None, "s001")
    with pytest.raises(LookupError, match="No student 'nobody'"):
        gradebook.issue_token("nobody")

    stored = []
    with gradebook.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            stored += [str(value) for row in connection.execute(select(table)) for value in row]
    assert replaced not in " ".join(stored)
    if gradebook.is_sqlite:
        database = Path(gradebook.engine.url.database)
        for path in (database, database.with_name(database.name + "-wal")):
            assert not path.exists() or replaced.encode() not in path.read_bytes()


def test_recent_submissions_count_uploads_since_a_time(gradebook):
    old, new, other = (submit(gradebook, "s001", assignment, content, "a.py")[0]
                       for assignment, content in (("conv_ops", b"a"), ("conv_ops", b"b"), ("lenet5", b"c")))
    with gradebook.engine.begin() as connection:
        connection.execute(update(Submission).where(Submission.id == old)
                           .values(submitted_at=utcnow() - timedelta(hours=2)))
    hour_ago = utcnow() - timedelta(hours=1)
    assert gradebook.recent_submissions("s001", "conv_ops", hour_ago) == 1
    assert gradebook.recent_submissions("s001", "conv_ops", hour_ago - timedelta(hours=2)) == 2
    assert gradebook.recent_submissions("s001", "lenet5", hour_ago) == 1
    assert gradebook.recent_submissions("s002", "conv_ops", hour_ago) == 0
    assert gradebook.recent_submissions("s001", "resnet", hour_ago) == 0
    assert {old, new, other} == {s.id for s in gradebook.submissions()}


def test_a_counted_release_keeps_the_attempt_and_gives_up_at_max_attempts(gradebook):
    # A cluster node died under each of these gradings: retried at once, but not forever.
    lost, fine = queue(gradebook, 2)
    for attempt in (1, 2):
        job = gradebook.claim_next(f"w{attempt}", LEASE, max_attempts=2)
        assert (job.submission.id, job.submission.attempts) == (lost, attempt)
        assert gradebook.release(lost, worker_id=f"w{attempt}", counted=True) is True
        assert gradebook.submission(lost).status == "queued"

    assert gradebook.claim_next("w3", LEASE, max_attempts=2).submission.id == fine
    stored = gradebook.submission(lost)
    assert (stored.status, stored.score) == ("error", None)
    assert "the machine running it was lost" in stored.instructor_log
