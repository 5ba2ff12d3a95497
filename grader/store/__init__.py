"""The grade store: one Gradebook behind one SQLAlchemy URL (SQLite file or PostgreSQL)."""

from grader.store.gradebook import Gradebook, pseudonym

__all__ = ["Gradebook", "pseudonym"]
