"""Reads what a student uploaded (.py, notebook, folder or zip) into one Python module, without running it."""

# The grader calls read_submission, which parses and analyses the upload in a child process under
# limits; load_submission does the same work in the calling process (the tests, and that child).

from grader.submission.isolated import ReaderUnavailable, ReadLimits, read_submission
from grader.submission.loader import MAX_SUBMISSION_BYTES, load_submission
from grader.submission.record import Submission, SubmissionError, missing_functions, write_for_sandbox

__all__ = [
    "MAX_SUBMISSION_BYTES",
    "ReadLimits",
    "ReaderUnavailable",
    "Submission",
    "SubmissionError",
    "load_submission",
    "missing_functions",
    "read_submission",
    "write_for_sandbox",
]
