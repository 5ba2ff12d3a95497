"""Reads what a student uploaded (.py, notebook, folder or zip) into one Python module, without running it."""

from grader.submission.loader import MAX_SUBMISSION_BYTES, load_submission
from grader.submission.record import Submission, SubmissionError, missing_functions, write_for_sandbox

__all__ = [
    "MAX_SUBMISSION_BYTES",
    "Submission",
    "SubmissionError",
    "load_submission",
    "missing_functions",
    "write_for_sandbox",
]
