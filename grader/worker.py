"""`python -m grader worker`: grading threads that take submissions from the gradebook's queue."""

from __future__ import annotations

import io
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from grader.assignment import load_assignment
from grader.config import Config
from grader.grading import grade
from grader.store import Gradebook

SUBMISSION_SUFFIXES = (".py", ".ipynb", ".zip")
GRADER_FAILED = "The grader failed on this submission; the course staff will look at it."
STOP_GRACE_SECONDS = 10.0
"""After a stop, how long the grading threads get to notice that their sandboxes were killed."""
_MAX_NAME_BYTES = 200  # below the usual 255-byte limit on a file name, with room for ".zip"


class Worker:
    """Grading threads sharing one gradebook; thread i grades in sandbox slot i."""

    def __init__(self, gradebook: Gradebook, config: Config, *, threads: int = 1, once: bool = False,
                 poll_seconds: float = 2.0, out: TextIO | None = None):
        if threads < 1:
            raise ValueError(f"Expected a strictly positive value. Received workers={threads}.")
        if poll_seconds <= 0:
            raise ValueError(f"Expected a strictly positive value. Received poll={poll_seconds}.")
        self.gradebook = gradebook
        self.config = config
        self.threads = threads
        self.once = once
        self.poll_seconds = poll_seconds
        self.out = out or sys.stdout
        self.graded = 0
        self.failed = False
        self._stopping = threading.Event()
        self._stop_reason = ""
        self._lock = threading.Lock()
        self._in_flight: dict[int, tuple[int, str]] = {}  # slot -> (submission id, worker id)
        self._handed_back: list[int] = []

    def worker_id(self, slot: int) -> str:
        return f"{socket.gethostname()}:{os.getpid()}:{slot}"

    def stop(self, reason: str) -> None:
        """Stop claiming; the jobs in progress go back to the queue. Safe from a signal handler."""
        self._stop_reason = reason
        self._stopping.set()

    def run(self) -> int:
        """Grades until stopped (or, with `once`, until the queue is empty); 0 unless the gradebook failed."""
        threads = [threading.Thread(target=self._serve, args=(slot,), name=f"grader-slot-{slot}", daemon=True)
                   for slot in range(self.threads)]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads) and not self._stopping.wait(0.2):
            pass
        if self._stopping.is_set():
            self._wind_down(threads)
        return 1 if self.failed else 0

    # --- the grading threads ---

    def _serve(self, slot: int) -> None:
        worker_id = self.worker_id(slot)
        while not self._stopping.is_set():
            try:
                job = self.gradebook.claim_next(worker_id, self.config.lease_seconds, self.config.max_attempts)
            except SQLAlchemyError as error:  # the gradebook is unreachable for now
                self._say(f"slot {slot}: cannot claim from the gradebook: {error}", sys.stderr)
                if self.once:
                    self.failed = True
                    return
                self._stopping.wait(self.poll_seconds)
                continue
            if job is None:
                if self.once:
                    return
                self._stopping.wait(self.poll_seconds)
                continue
            with self._lock:
                self._in_flight[slot] = (job["id"], worker_id)
            try:
                self._grade(job, slot, worker_id)
            except Exception:  # the thread's outermost boundary: the claim lapses and another worker retries
                self._say(f"slot {slot}: submission {job['id']} failed in the worker:\n{traceback.format_exc()}",
                          sys.stderr)
            finally:
                with self._lock:
                    self._in_flight.pop(slot, None)

    def _grade(self, job: dict, slot: int, worker_id: str) -> None:
        submission_id, who = job["id"], f"{job['student_id']} {job['assignment']}"
        started = time.perf_counter()
        with Heartbeat(self.gradebook, submission_id, worker_id, self.config.lease_seconds), \
                tempfile.TemporaryDirectory(prefix="worker-") as private:
            try:
                assignment = load_assignment(job["assignment"])
            except ValueError as error:
                self.gradebook.record_error(
                    submission_id, f"The grader does not know the assignment {job['assignment']!r}; "
                    "the course staff will look at it.", str(error), worker_id=worker_id)
                self._say(f"{who}: grader error, {error} (submission {submission_id})")
                return
            path = Path(private) / local_name(job["filename"], job["content"])
            path.write_bytes(job["content"])
            try:
                report = grade(path, assignment, self.config, student=job["student_id"], slot=slot)
            except Exception as error:  # a grader fault, never the submission's: recorded as such, not as a zero
                if self._stopping.is_set():
                    self._hand_back(submission_id, worker_id)
                    return
                self.gradebook.record_error(submission_id, GRADER_FAILED, traceback.format_exc(), worker_id=worker_id)
                self._say(f"{who}: grader error, {type(error).__name__}: {error} (submission {submission_id})")
                return
        seconds = time.perf_counter() - started
        if self._stopping.is_set():
            # Its sandbox was probably killed mid-run: the report would not be the submission's fault.
            self._hand_back(submission_id, worker_id)
        elif self.gradebook.record_report_or_error(submission_id, report, worker_id=worker_id):
            with self._lock:
                self.graded += 1
            self._say(f"{who}: {report.score:g}/{report.max_score:g} in {seconds:.1f} s (submission {submission_id})")
        else:
            self._say(f"{who}: graded in {seconds:.1f} s but not recorded: the claim was lost (requeued, or the "
                      f"lease ran out and another worker took it), or the gradebook refused the report and the "
                      f"submission is now a grader error (submission {submission_id})")

    # --- stopping ---

    def _wind_down(self, threads: list[threading.Thread]) -> None:
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
            # Killed sandboxes end their phase at once, and grade() skips the phases after a failed one;
            # repeated because a thread may be about to start its next phase.
            _kill_children()
            for thread in threads:
                thread.join(0.1)
        with self._lock:
            leftovers = list(self._in_flight.values())
        for submission_id, worker_id in leftovers:
            self._hand_back(submission_id, worker_id)
        with self._lock:
            handed_back = sorted(set(self._handed_back))
        what = (f"handed submission{'s' if len(handed_back) > 1 else ''} {', '.join(map(str, handed_back))} "
                "back to the queue" if handed_back else "no submission was being graded")
        self._say(f"Stopped by {self._stop_reason}: {what}.")

    def _hand_back(self, submission_id: int, worker_id: str) -> None:
        if self.gradebook.release(submission_id, worker_id=worker_id):
            with self._lock:
                self._handed_back.append(submission_id)

    def _say(self, line: str, stream: TextIO | None = None) -> None:
        with self._lock:
            print(line, file=stream or self.out, flush=True)


def serve(config: Config, *, threads: int = 1, once: bool = False, poll_seconds: float = 2.0,
          out: TextIO | None = None) -> int:
    """The `worker` command: grade from the queue at `config.db_url`; SIGINT and SIGTERM stop it cleanly."""
    with Gradebook(config.db_url) as gradebook:
        worker = Worker(gradebook, config, threads=threads, once=once, poll_seconds=poll_seconds, out=out)
        started = time.perf_counter()
        print(f"Worker {worker.worker_id(0).rsplit(':', 1)[0]}: {threads} grading "
              f"thread{'s' if threads > 1 else ''} on {gradebook.engine.url}"
              f"{', until the queue is empty' if once else '; Ctrl-C hands the jobs in progress back'}.",
              file=sys.stderr, flush=True)
        with _stopped_by_signals(worker):
            status = worker.run()
        if once:
            print(f"Queue empty: graded {worker.graded} submission{'s' if worker.graded != 1 else ''} "
                  f"in {time.perf_counter() - started:.0f} s.", file=sys.stderr, flush=True)
        return status


def local_name(filename: str, content: bytes) -> str:
    """A safe file name for stored bytes: the student's own name without any folder in it, and a
    folder (stored zipped under the folder's name) ending in .zip so that it is graded as one."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    if name in ("", ".", "..") or len(name.encode()) > _MAX_NAME_BYTES:
        name = "submission" + PurePosixPath(name).suffix[:10]
    if PurePosixPath(name).suffix.lower() not in SUBMISSION_SUFFIXES and zipfile.is_zipfile(io.BytesIO(content)):
        name += ".zip"
    return name


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


@contextmanager
def _stopped_by_signals(worker: Worker):
    """SIGINT (Ctrl-C) and SIGTERM stop the worker instead of killing it, for as long as the block runs."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals; whoever started this thread stops the worker
        return
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.getsignal(number) for number in handled}
    for number in handled:
        signal.signal(number, lambda received, frame: worker.stop(signal.Signals(received).name))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _kill_children() -> None:
    """SIGKILLs this process's children: the sandboxes (bwrap takes its whole sandbox with it)."""
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat_file:
                parent = int(stat_file.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone while the list was read
        if parent == me:
            try:
                os.kill(int(name), signal.SIGKILL)
            except ProcessLookupError:
                pass
