"""The autograder: loads a submission, runs it in a sandbox, scores what it observed."""
__version__ = "0.1.0"
