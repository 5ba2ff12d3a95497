"""The schema's migrations on SQLite and PostgreSQL: a gradebook made by the code of 2026-12-01
upgrades in place without losing a row; a new one is built by the same revisions; openers take turns."""

import io
import json
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

from grader.config import REPO_ROOT
from grader.store import Gradebook, migrate
from grader.store.schema import Base
from tests.grader.store.helpers import report

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gradebooks"
LEGACY_SQLITE = FIXTURES / "legacy-2026-12-01.sqlite"
LEGACY_POSTGRESQL = FIXTURES / "legacy-2026-12-01.postgresql.sql"
UTC = timezone.utc

# Opens the gradebook in a process of its own once told "go", and prints the revision it found.
OPENER = """
import sys
from grader.store import Gradebook, migrate
print("ready", flush=True)
sys.stdin.readline()
with Gradebook(sys.argv[1]) as book, book.engine.connect() as connection:
    print(migrate.revision_of(connection), flush=True)
"""


def schema_of(url: str) -> str:
    """The PostgreSQL schema a test URL's search_path names."""
    return make_url(url).query["options"].split("=", 1)[1]


def load_postgresql_dump(url: str) -> None:
    """The pg_dump of schema `legacy`, loaded into the (empty) schema of `url`."""
    kept = [line for line in LEGACY_POSTGRESQL.read_text().splitlines()
            if not line.startswith(("\\restrict", "\\unrestrict")) and "set_config('search_path'" not in line
            and line.strip() != "CREATE SCHEMA legacy;"]
    engine = create_engine(url)
    try:
        connection = engine.raw_connection()
        try:
            connection.cursor().execute("\n".join(kept).replace("legacy.", f"{schema_of(url)}."))
            connection.commit()
        finally:
            connection.close()
    finally:
        engine.dispose()


def legacy_copy(backend: str, request, tmp_path) -> str:
    """A copy of the gradebook that the code of 2026-12-01 made (see make_legacy.py)."""
    if backend == "sqlite":
        shutil.copy(LEGACY_SQLITE, tmp_path / "grades.db")
        return f"sqlite:///{tmp_path / 'grades.db'}"
    url = request.getfixturevalue("postgres_database")
    load_postgresql_dump(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def legacy_url(request, tmp_path):
    """The legacy gradebook on each backend."""
    return legacy_copy(request.param, request, tmp_path)


@pytest.fixture(params=[(backend, made_by) for backend in ("sqlite", "postgresql") for made_by in ("new", "legacy")],
                ids=lambda param: "-".join(param))
def new_or_legacy_url(request, tmp_path):
    """On each backend, an empty gradebook (no tables yet) or the legacy one."""
    backend, made_by = request.param
    if made_by == "legacy":
        return legacy_copy(backend, request, tmp_path)
    return f"sqlite:///{tmp_path / 'grades.db'}" if backend == "sqlite" else request.getfixturevalue(
        "postgres_database")


def rows_of(url: str) -> dict[str, list[dict]]:
    """Every row of every table, as the database holds it, times made aware (SQLite keeps them naive)."""
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {name: [{key: aware(value) for key, value in row.items()}
                           for row in connection.execute(select(table).order_by(*table.primary_key)).mappings()]
                    for name, table in metadata.tables.items()}
    finally:
        engine.dispose()


def aware(value):
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, str) and value.startswith("["):
        return json.loads(value)  # SQLite reflects the JSON column of notes as text
    return value


def revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return migrate.revision_of(connection)
    finally:
        engine.dispose()


def test_a_legacy_gradebook_keeps_every_row(legacy_url):
    before = rows_of(legacy_url)
    assert revision(legacy_url) is None

    with Gradebook(legacy_url) as gradebook:
        assert revision(legacy_url) == migrate.head()
        students = {s.id: s for s in gradebook.students()}
        assert {i: (s.display_name, s.pseudonym, s.has_token) for i, s in students.items()} == {
            s["id"]: (s["display_name"], s["pseudonym"], s["token_hash"] is not None) for s in before["students"]}
        assert gradebook.student_for_token("token-of-li-wei") == "s01_li_wei"
        assert rows_of(legacy_url)["settings"] == before["settings"]  # the pseudonym key, so names stay

        old_checks = before["check_results"]
        for old in before["submissions"]:
            new = gradebook.submission(old["id"])
            same = ("student_id", "assignment", "filename", "content_hash", "submitted_at", "status", "attempts",
                    "claimed_by", "lease_expires_at")
            assert {key: getattr(new, key) for key in same} == {key: old[key] for key in same}
            assert gradebook.content(old["id"]) == old["content"]
            assert (new.size_bytes, new.time_source) == (len(old["content"]), "received")
            moved = ("score", "max_score", "grader_version", "graded_at", "execution_seconds", "device",
                     "instructor_log")
            assert {key: getattr(new, key) for key in moved} == {key: old[key] for key in moved}
            assert list(new.notes) == (old["notes"] or [])
            for grading in gradebook.gradings(old["id"]):
                expected = sorted((c["position"], c["check_name"], c["points"], c["max_points"], c["status"],
                                   c["message"], c["hidden"]) for c in old_checks
                                  if (c["submission_id"], c["grader_version"]) == (old["id"], grading.grader_version))
                got = gradebook.check_results(old["id"], grading.id)
                assert [(position, c.name, c.points, c.max_points, c.status, c.message, c.hidden)
                        for position, c in enumerate(got)] == expected
        carried = sum(len(gradebook.check_results(s.id, g.id)) for s in gradebook.submissions()
                      for g in gradebook.gradings(s.id))
        assert carried == len(old_checks)


def test_the_legacy_fixture_upgrades_to_these_values(legacy_url):
    with Gradebook(legacy_url) as gradebook:
        rows = {s.id: s for s in gradebook.submissions()}
        assert {i: (s.student_id, s.assignment, s.filename, s.kind, s.status, s.score, s.max_score)
                for i, s in rows.items()} == {
            1: ("s01_li_wei", "conv_ops", "s01_li_wei.py", "py", "done", 25.0, 30.0),
            2: ("s01_li_wei", "lenet5", "s05_lin_na", "zip", "done", 9.5, 11.0),
            3: ("s02_wang_fang", "conv_ops", "hw1.ipynb", "ipynb", "done", 2.5, 30.0),
            4: ("s02_wang_fang", "conv_ops", "hw1 (2).py", "py", "error", None, None),
            5: ("s03_zhang_min", "resnet", "resnet.py", "py", "queued", None, None),
            6: ("s03_zhang_min", "digit_adder", "adder.py", "py", "grading", None, None),
        }
        assert rows[1].submitted_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
        assert zipfile.is_zipfile(io.BytesIO(gradebook.content(2)))

        first, current = gradebook.gradings(1)
        assert (first.grader_version, first.score, first.graded_at, first.is_current) == (
            "0.4.0+aaaaaaaa", 5.0, None, False)
        assert (current.grader_version, current.score, current.is_current, current.notes, current.device) == (
            "0.4.0+bbbbbbbb", 25.0, True, ("Graded on CPU: test.",), "CPU: test")
        assert [(c.name, c.points) for c in gradebook.check_results(1)] == [("conv2d shapes", 10.0),
                                                                           ("hidden cases", 15.0)]
        assert [(c.name, c.points, c.hidden) for c in gradebook.check_results(1, first.id)] == [
            ("conv2d shapes", 5.0, False), ("hidden cases", 0.0, True)]

        [error] = gradebook.gradings(4)
        assert (error.status, error.score, error.grader_version, error.is_current, error.instructor_log) == (
            "error", None, None, True, "Traceback: MemoryError")
        assert error.notes == ("The grader failed on this submission; the course staff will look at it.",)
        assert gradebook.gradings(5) == gradebook.gradings(6) == []
        assert (rows[5].attempts, rows[5].claimed_by) == (0, None)
        assert (rows[6].attempts, rows[6].claimed_by, rows[6].lease_expires_at is not None) == (
            1, "old-host:4242:1", True)
        assert sorted(s.id for s in gradebook.finished()) == [1, 2, 3, 4]

        # And it goes on working: the queue, new gradings, new submissions.
        assert gradebook.claim_next("new-host:1:0", 600.0).submission.id == 5
        new = gradebook.record_report(5, report(assignment="resnet"), worker_id="new-host:1:0")
        assert new > max(g.id for i in rows for g in gradebook.gradings(i) if g.id != new)


def test_opening_an_upgraded_gradebook_again_changes_nothing(legacy_url):
    with Gradebook(legacy_url):
        pass
    upgraded = rows_of(legacy_url)
    with Gradebook(legacy_url):
        pass
    assert rows_of(legacy_url) == upgraded
    assert upgraded["alembic_version"] == [{"version_num": migrate.head()}]


def test_an_even_older_gradebook_gains_the_queue_columns(legacy_url):
    # Gradebooks from before the work queue had no attempts, claims or leases.
    engine = create_engine(legacy_url)
    with engine.begin() as connection:
        for column in ("attempts", "claimed_by", "lease_expires_at"):
            connection.execute(text(f"ALTER TABLE submissions DROP COLUMN {column}"))
    engine.dispose()
    with Gradebook(legacy_url) as gradebook:
        assert {s.attempts for s in gradebook.submissions()} == {0}
        assert gradebook.claim_next("w", 600.0).submission.attempts == 1


def test_the_migrated_schema_is_the_models(new_or_legacy_url):
    url = new_or_legacy_url
    Gradebook(url).close()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            options = {"include_name": lambda name, kind, parent: name != "alembic_version"}
            assert compare_metadata(MigrationContext.configure(connection, opts=options), Base.metadata) == []
    finally:
        engine.dispose()


def test_a_reader_refuses_a_gradebook_that_is_not_upgraded(legacy_url):
    with pytest.raises(RuntimeError, match="made before versioned migrations.*Open it once with a grader"):
        Gradebook(legacy_url, read_only=True)


def baseline_gradebook(url: str, submissions: list[dict], checks: list[dict]) -> None:
    """A gradebook at the baseline revision holding these rows, as the old code would have written them."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(migrate.alembic_config(connection), migrate.BASELINE)
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.begin() as connection:
            connection.execute(metadata.tables["students"].insert().values(
                id="s001", pseudonym="calm-otter-01", created_at=datetime(2026, 11, 1, tzinfo=UTC)))
            for row in submissions:
                connection.execute(metadata.tables["submissions"].insert().values(
                    student_id="s001", assignment="lenet5", content_hash=f"{row['id']:064x}",
                    submitted_at=datetime(2026, 11, 2, tzinfo=UTC), attempts=0, **row))
            for row in checks:
                connection.execute(metadata.tables["check_results"].insert().values(
                    check_name="builds", max_points=5.0, status="partial", message="m", hidden=False, position=0,
                    **row))
    finally:
        engine.dispose()


GRADED = datetime(2026, 11, 3, tzinfo=UTC)
FOLDER = (lambda buffer: (zipfile.ZipFile(buffer, "w").close(), buffer.getvalue())[1])(io.BytesIO())


@pytest.mark.parametrize(("filename", "content", "kind"), [
    ("lenet5.py", b"x = 1\n", "py"),
    ("Lenet5.PY", b"x = 1\n", "py"),
    ("hw.ipynb", b"{}", "ipynb"),
    ("folder.zip", FOLDER, "zip"),
    ("s05_lin_na", FOLDER, "zip"),  # a folder, which the old code stored zipped under its bare name
    ("my.solution", b"x = 1\n", "py"),
    ("README", b"x = 1\n", "py"),
])
def test_the_kind_of_an_old_submission(gradebook_url, filename, content, kind):
    baseline_gradebook(gradebook_url, [{"id": 1, "filename": filename, "content": content, "status": "queued"}], [])
    with Gradebook(gradebook_url) as gradebook:
        assert (gradebook.submission(1).kind, gradebook.submission(1).size_bytes) == (kind, len(content))


DONE_V2 = {"status": "done", "score": 3.0, "max_score": 5.0, "grader_version": "v2", "graded_at": GRADED,
           "notes": ["n"], "instructor_log": "log"}
ERROR = {"status": "error", "graded_at": GRADED, "notes": ["The grader failed."], "instructor_log": "Traceback"}


@pytest.mark.parametrize(("latest", "versions", "gradings", "status"), [
    # (the submission row's grading columns, grader versions with check rows) -> (version, status, current)...
    ({"status": "queued"}, [], [], "queued"),
    (DONE_V2, ["v2"], [("v2", "done", True)], "done"),
    (DONE_V2, ["v1", "v2", "v10"], [("v1", "done", False), ("v10", "done", False), ("v2", "done", True)], "done"),
    ({**DONE_V2, "status": "queued"}, ["v2"], [("v2", "done", True)], "queued"),  # requeued for a regrade
    (ERROR, [], [(None, "error", True)], "error"),
    (ERROR, ["v1"], [("v1", "done", False), (None, "error", True)], "error"),
    ({**ERROR, "status": "queued"}, ["v1"], [("v1", "done", False), (None, "error", True)], "queued"),
    (DONE_V2, [], [("v2", "done", True)], "done"),  # a report without checks
])
def test_the_gradings_an_old_submission_becomes(gradebook_url, latest, versions, gradings, status):
    baseline_gradebook(gradebook_url, [{"id": 1, "filename": "a.py", "content": b"x", **latest}],
                       [{"submission_id": 1, "grader_version": v, "points": 3.0} for v in versions])
    with Gradebook(gradebook_url) as gradebook:
        history = gradebook.gradings(1)
        assert [(g.grader_version, g.status, g.is_current) for g in history] == gradings
        assert gradebook.submission(1).status == status
        for grading in history:
            if grading.is_current:
                assert (grading.graded_at, grading.notes, grading.instructor_log) == (
                    GRADED, tuple(latest["notes"]), latest["instructor_log"])
            else:
                assert (grading.graded_at, grading.score, grading.max_score) == (None, 3.0, 5.0)
            assert len(gradebook.check_results(1, grading.id)) == (grading.grader_version in versions)


def test_processes_opening_a_gradebook_at_once_all_succeed(new_or_legacy_url):
    # Several workers start at once: one upgrades, the others wait for it and find the work done.
    url = new_or_legacy_url
    legacy = revision(url) is None and "submissions" in rows_of(url)
    openers = [subprocess.Popen([sys.executable, "-c", OPENER, url], cwd=REPO_ROOT, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    try:
        for opener in openers:
            assert opener.stdout.readline().strip() == "ready"
        for opener in openers:
            opener.stdin.write("go\n")
            opener.stdin.flush()
        results = [(opener.communicate(timeout=120), opener.returncode) for opener in openers]
    finally:
        for opener in openers:
            opener.kill()
    assert [(out.strip(), code) for (out, _), code in results] == [(migrate.head(), 0)] * 4, results
    with Gradebook(url) as gradebook:
        assert rows_of(url)["alembic_version"] == [{"version_num": migrate.head()}]
        assert sum(len(gradebook.gradings(s.id)) for s in gradebook.submissions()) == (
            5 if legacy else 0)


def test_a_downgrade_gives_the_legacy_rows_back(legacy_url):
    before = rows_of(legacy_url)
    with Gradebook(legacy_url) as gradebook:
        gradebook.record_report(1, report("0.4.0+bbbbbbbb", assignment="conv_ops"))  # a regrade, then reverted
        gradebook.revert(1, gradebook.gradings(1)[1].id)
    engine = create_engine(legacy_url)
    try:
        with engine.begin() as connection:
            command.downgrade(migrate.alembic_config(connection), migrate.BASELINE)
    finally:
        engine.dispose()
    after = rows_of(legacy_url)
    assert after.pop("alembic_version") == [{"version_num": migrate.BASELINE}]
    assert after == before
