"""The gradebook's schema history as Alembic revisions, run from code by grader.store.migrate."""
