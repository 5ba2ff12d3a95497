"""Alembic's entry point: runs the revisions on the connection grader.store.migrate hands it."""

from alembic import context

from grader.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # The schema the URL's search_path puts first (PostgreSQL), so that alembic_version lands beside
    # the gradebook's tables; None on SQLite.
    version_table_schema=connection.dialect.default_schema_name if connection.dialect.name == "postgresql" else None,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
