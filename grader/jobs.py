"""The one way a claimed submission is graded, by `grade`, `grade-all`, `regrade` and the worker alike."""

from __future__ import annotations

import os
import socket
import threading
import time
import traceback
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from grader.assignment import load_assignment
from grader.cluster import NodeLost, PhaseRunner
from grader.config import Config
from grader.grading import grade, unreadable
from grader.intake import Artifact, load
from grader.intake.timing import SOURCE_WORDS
from grader.results import GradingReport
from grader.store import Gradebook
from grader.store.rows import Job
from grader.submission import ReaderUnavailable, SubmissionError

GRADER_FAILED = "The grader failed on this submission; the course staff will look at it."


@dataclass(frozen=True)
class JobOutcome:
    """What became of one claimed submission."""

    submission_id: int
    state: str
    """"recorded" (a grading is stored and current), "lost" (graded, but the claim was someone else's by
    then, or the gradebook refused the report and recorded a grader error), "error" (the grader failed:
    recorded as a grader error, not a zero), or "handed back" (back in the queue at once: stopping,
    uncounted; or the cluster node running a phase died, counted against max_attempts)."""
    line: str
    """One line for the log or the progress bar, e.g. "s01 lenet5: 18/20 in 41 s (submission 7)"."""
    report: GradingReport | None = None
    grading_id: int | None = None


def worker_id(slot: int) -> str:
    """"host:pid:slot": who holds a claim, the same for the worker, `grade` and `grade-all`."""
    return f"{socket.gethostname()}:{os.getpid()}:{slot}"


def grade_job(gradebook: Gradebook, job: Job, config: Config, *, slot: int, worker_id: str,
              stopping: threading.Event | None = None, runner: PhaseRunner | None = None) -> JobOutcome:
    """Grades the claimed submission in sandbox slot `slot` and records the outcome, renewing the
    claim meanwhile. Anything that goes wrong on the grader's side is recorded as a grader error,
    never as the student's zero; once `stopping` is set, the job goes back to the queue instead.
    `runner`: where the phases run (grader.grading.grade); when its node dies (NodeLost), the job
    goes back to the queue at once, for a live node, rather than when the lease runs out."""
    submission = job.submission
    who = f"{submission.student_id} {submission.assignment}"
    started = time.perf_counter()

    def handed_back() -> JobOutcome:
        gradebook.release(submission.id, worker_id=worker_id)
        return JobOutcome(submission.id, "handed back", f"{who}: handed back to the queue (submission {submission.id})")

    with Heartbeat(gradebook, submission.id, worker_id, config.lease_seconds):
        try:
            assignment = load_assignment(submission.assignment)
        except ValueError as error:
            gradebook.record_error(submission.id, f"The grader does not know the assignment "
                                   f"{submission.assignment!r}; the course staff will look at it.", str(error),
                                   worker_id=worker_id)
            return JobOutcome(submission.id, "error", f"{who}: grader error, {error} (submission {submission.id})")
        artifact = Artifact.stored(submission.filename, submission.kind, job.content, submission.content_hash)
        try:
            try:
                loaded = load(artifact, max_bytes=config.upload_max_bytes, expected_functions=assignment.functions)
            except ReaderUnavailable:
                raise  # the grader's machine failed to read it, not the bytes: a grader error below
            except SubmissionError as refused:  # the bytes' fault: every check scores zero with the reason
                report = unreadable(assignment, str(refused), student=submission.student_id)
            else:
                report = grade(loaded, assignment, config, student=submission.student_id, slot=slot, runner=runner)
        except NodeLost as lost:
            gradebook.release(submission.id, worker_id=worker_id, counted=True)
            return JobOutcome(submission.id, "handed back", f"{who}: handed back to the queue, {lost} "
                              f"(submission {submission.id})")
        except Exception as error:  # a grader fault (ReaderUnavailable among them), never the submission's
            if stopping is not None and stopping.is_set():
                return handed_back()
            gradebook.record_error(submission.id, GRADER_FAILED, traceback.format_exc(), worker_id=worker_id)
            return JobOutcome(submission.id, "error", f"{who}: grader error, {type(error).__name__}: {error} "
                              f"(submission {submission.id})")
    if stopping is not None and stopping.is_set():
        return handed_back()  # its sandbox was probably killed mid-run: the report would not be the code's
    report.notes.insert(0, f"Submitted {submission.submitted_at.isoformat(timespec='minutes')} "
                           f"({SOURCE_WORDS.get(submission.time_source, submission.time_source)}).")
    seconds = time.perf_counter() - started
    grading_id = gradebook.record_report_or_error(submission.id, report, worker_id=worker_id)
    if grading_id is None:
        return JobOutcome(submission.id, "lost", f"{who}: graded in {seconds:.1f} s but not recorded: the claim "
                          "was lost (requeued, or the lease ran out and another grader took it), or the gradebook "
                          f"refused the report and the submission is now a grader error (submission {submission.id})",
                          report)
    return JobOutcome(submission.id, "recorded", f"{who}: {report.score:g}/{report.max_score:g} in {seconds:.1f} s "
                      f"(submission {submission.id})", report, grading_id)


class Heartbeat:
    """Renews a claim every third of the lease while its job is graded, so no other worker takes it over."""

    def __init__(self, gradebook: Gradebook, submission_id: int, worker_id: str, lease_seconds: float):
        self._renew = lambda: gradebook.renew_lease(submission_id, worker_id, lease_seconds)
        self._interval = lease_seconds / 3
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{submission_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._done.wait(self._interval):
            try:
                if not self._renew():
                    return  # the claim is someone else's now; the result will not be recorded
            except SQLAlchemyError:  # the gradebook is briefly unreachable; the next beat tries again
                continue
