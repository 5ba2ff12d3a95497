"""The stress tests' PostgreSQL: the throwaway server and per-test schema of the gradebook's own tests."""

from tests.grader.store.conftest import postgres_database, postgres_url  # noqa: F401 (fixtures)
