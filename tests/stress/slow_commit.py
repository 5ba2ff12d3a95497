"""`python -m tests.stress.slow_commit ARGS`: `python -m grader ARGS`, but every record_report pauses
inside its transaction, after writing its rows and before COMMIT, for a test to SIGKILL it there."""

import sys
import threading
import time

from sqlalchemy import event
from sqlalchemy.orm import Session

from grader.cli import main
from grader.store import Gradebook

COMMITTING = "COMMITTING submission"
"""Printed (with the submission id) once the rows are flushed and the transaction is still open."""
PAUSE_SECONDS = 600.0  # far longer than any test waits: the test kills the process in the pause

_recording = threading.local()
_record_report = Gradebook.record_report


def record_report(self, submission_id, report, worker_id=None):
    _recording.submission_id = submission_id
    try:
        return _record_report(self, submission_id, report, worker_id=worker_id)
    finally:
        _recording.submission_id = None


@event.listens_for(Session, "after_flush")
def pause_before_commit(session, flush_context):
    submission_id = getattr(_recording, "submission_id", None)
    if submission_id is not None:
        print(f"{COMMITTING} {submission_id}", flush=True)
        time.sleep(PAUSE_SECONDS)


if __name__ == "__main__":
    Gradebook.record_report = record_report
    sys.exit(main(sys.argv[1:]))
