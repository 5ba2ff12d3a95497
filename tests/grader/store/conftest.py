"""A `gradebook` fixture for each backend: SQLite in a temporary folder, PostgreSQL on a throwaway server."""

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from grader.store import Gradebook

POSTGRES_SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "postgres.sh"


@pytest.fixture(scope="session")
def postgres_url():
    """The URL of the `grades` database on a server of this test run's own, stopped at the end."""
    # Under /tmp rather than pytest's tmp_path: as root the server runs as `postgres`, which
    # cannot enter pytest's private temporary folders.
    pg_dir = tempfile.mkdtemp(prefix="grader-pg-")
    env = {**os.environ, "PG_DIR": pg_dir}
    started = subprocess.run([str(POSTGRES_SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=120)
    if started.returncode != 0:
        shutil.rmtree(pg_dir, ignore_errors=True)
        pytest.fail(f"scripts/postgres.sh start failed (exit {started.returncode}):\n"
                    f"{started.stdout}{started.stderr}", pytrace=False)
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run([str(POSTGRES_SCRIPT), "stop"], env=env, capture_output=True, timeout=60)
        shutil.rmtree(pg_dir, ignore_errors=True)


@pytest.fixture
def postgres_database(postgres_url):
    """A URL whose tables live in a fresh schema of the test server, dropped after the test."""
    # A schema per test isolates as well as a database per test, and is created in milliseconds
    # where CREATE DATABASE copies a template and takes seconds on a busy disk.
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def gradebook_url(request, tmp_path):
    """The URL of an empty gradebook on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grades.db'}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def gradebook(gradebook_url):
    with Gradebook(gradebook_url) as book:
        yield book

