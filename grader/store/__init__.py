"""The grade store: one Gradebook behind one SQLAlchemy URL (SQLite file or PostgreSQL), handing out typed rows."""

from grader.store.gradebook import Gradebook, pseudonym
from grader.store.rows import ExtensionRow, GradingRow, Job, StudentRow, SubmissionRow

__all__ = ["ExtensionRow", "Gradebook", "GradingRow", "Job", "StudentRow", "SubmissionRow", "pseudonym"]
