"""`python -m grader worker`: grading threads that take submissions from the gradebook's queue."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from grader.cluster import ClusterRunner
from grader.config import Config
from grader.jobs import grade_job, worker_id
from grader.store import Gradebook
from grader.store.rows import Job

STOP_GRACE_SECONDS = 10.0
"""After a stop, how long the grading threads get to notice that their sandboxes were killed."""


class Worker:
    """Grading threads sharing one gradebook; thread i grades in sandbox slot i."""

    def __init__(self, gradebook: Gradebook, config: Config, *, threads: int = 1, once: bool = False,
                 poll_seconds: float = 2.0, out: TextIO | None = None, runner: ClusterRunner | None = None):
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
        self.runner = runner
        """Where the phases run: None on this machine, else e.g. a Ray cluster (grader.cluster)."""
        self.graded = 0
        self.failed = False
        self._stopping = threading.Event()
        self._stop_reason = ""
        self._lock = threading.Lock()
        self._in_flight: dict[int, tuple[int, str]] = {}  # slot -> (submission id, worker id)
        self._handed_back: list[int] = []

    def worker_id(self, slot: int) -> str:
        return worker_id(slot)

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
                self._in_flight[slot] = (job.submission.id, worker_id)
            try:
                self._grade(job, slot, worker_id)
            except Exception:  # the thread's outermost boundary: the claim lapses and another worker retries
                self._say(f"slot {slot}: submission {job.submission.id} failed in the worker:\n{traceback.format_exc()}",
                          sys.stderr)
            finally:
                with self._lock:
                    self._in_flight.pop(slot, None)

    def _grade(self, job: Job, slot: int, worker_id: str) -> None:
        outcome = grade_job(self.gradebook, job, self.config, slot=slot, worker_id=worker_id, stopping=self._stopping,
                            runner=self.runner)
        if outcome.state == "handed back":
            with self._lock:
                self._handed_back.append(outcome.submission_id)
            if not self._stopping.is_set():
                self._say(outcome.line)  # its node died: another thread grades it again
            return
        if outcome.state == "recorded":
            with self._lock:
                self.graded += 1
        self._say(outcome.line)

    # --- stopping ---

    def _wind_down(self, threads: list[threading.Thread]) -> None:
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
            # Killed sandboxes end their phase at once, and grade() skips the phases after a failed one;
            # repeated because a thread may be about to start its next phase.
            if self.runner is None:
                _kill_children()
            else:
                self.runner.stop()  # the sandboxes run elsewhere; this machine's children may be Ray's own
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
          out: TextIO | None = None, runner: ClusterRunner | None = None) -> int:
    """The `worker` command: grade from the queue at `config.db_url`; SIGINT and SIGTERM stop it cleanly.
    `runner`: where the phases run (default: this machine's sandboxes)."""
    with Gradebook(config.db_url) as gradebook:
        worker = Worker(gradebook, config, threads=threads, once=once, poll_seconds=poll_seconds, out=out,
                        runner=runner)
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
