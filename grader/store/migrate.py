"""Brings a gradebook's schema to the newest revision, once, however many processes open it at once."""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, DateTime, Engine, Integer, String, create_engine, event, inspect, text
from sqlalchemy.engine import URL

BASELINE = "0001"
"""The revision of a gradebook made before versioned migrations (by the code of 2026-12-01)."""

SQLITE_BUSY_TIMEOUT_MS = 30_000

ADVISORY_LOCK = zlib.crc32(b"grader.store.migrate")
"""The key of the PostgreSQL advisory lock that openers of one database take turns under."""

# Columns that gradebooks older than the baseline lack; the old code added them on opening.
_PRE_BASELINE_COLUMNS = {
    "submissions": (("attempts", Integer(), "NOT NULL DEFAULT 0"), ("claimed_by", String(), ""),
                    ("lease_expires_at", DateTime(timezone=True), "")),
}


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the gradebook, without an alembic.ini; with `connection`, the
    revisions run on it (inside its transaction)."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    config.attributes["connection"] = connection
    return config


@cache
def head() -> str:
    """The newest revision (of the code running: read once)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def revision_of(connection: Connection) -> str | None:
    """The revision the database is at; None for an empty one or one made before versioned migrations."""
    return MigrationContext.configure(connection, opts=_context_options(connection)).get_current_revision()


def upgrade(url: URL) -> None:
    """Upgrades the gradebook at `url` to the newest revision: creates an empty one, stamps one that
    the code before versioned migrations made at the baseline first, and does nothing to one that is
    up to date. All in one transaction, under a lock that concurrent openers wait for."""
    if _up_to_date(url):
        return  # as nearly every opening finds it: no lock to wait for
    engine = _migration_engine(url)
    try:
        with _file_lock(url), engine.connect() as connection, connection.begin():
            if connection.dialect.name == "postgresql":
                # Released with the transaction: the next opener finds the work done.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
            if revision_of(connection) == head():
                return
            config = alembic_config(connection)
            tables = set(inspect(connection).get_table_names())
            if "submissions" in tables and "alembic_version" not in tables:
                _add_pre_baseline_columns(connection)
                command.stamp(config, BASELINE)
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def _up_to_date(url: URL) -> bool:
    if url.get_backend_name() == "sqlite" and not Path(url.database).is_file():
        return False
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return revision_of(connection) == head()
    finally:
        engine.dispose()


def _context_options(connection: Connection) -> dict:
    if connection.dialect.name == "postgresql":
        return {"version_table_schema": connection.dialect.default_schema_name}
    return {}


def _add_pre_baseline_columns(connection: Connection) -> None:
    for table, columns in _PRE_BASELINE_COLUMNS.items():
        present = {column["name"] for column in inspect(connection).get_columns(table)}
        for name, column_type, extra in columns:
            if name not in present:
                connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} "
                                           f"{column_type.compile(connection.dialect)} {extra}".rstrip())


def _migration_engine(url: URL) -> Engine:
    engine = create_engine(url)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_for_migrations)
        # pysqlite would run DDL outside any transaction; BEGIN IMMEDIATE makes the whole upgrade
        # one transaction that other writers wait for (and that a crash rolls back).
        event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _sqlite_for_migrations(dbapi_connection, connection_record) -> None:
    dbapi_connection.isolation_level = None  # the "begin" listener above begins
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Batch migrations copy a table and drop the original; with foreign keys enforced, dropping
    # `submissions` would cascade into every grading.
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


@contextmanager
def _file_lock(url: URL) -> Iterator[None]:
    """On a SQLite file, an exclusive flock on `<db>.migrate.lock` for the length of the upgrade."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    lock_path = Path(url.database).with_name(Path(url.database).name + ".migrate.lock")
    with open(lock_path, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
