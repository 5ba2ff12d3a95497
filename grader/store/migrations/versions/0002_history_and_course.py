"""History and course: every grading kept in `gradings` (check rows keyed by grading), the kind,
size and time source of each submission, and instructors' extensions.

From a baseline gradebook: one grading per (submission, grader version) that has check rows, plus
an error grading where the last grading was a grader error; the current one is the grading whose
grader version the submission row names (its score, notes and log move there), or the error one.
"""

import io
import zipfile
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MOVED = ("score", "max_score", "grader_version", "graded_at", "execution_seconds", "device", "notes",
         "instructor_log")
"""The columns of the submission's latest grading, which become its current grading row."""

SUFFIX_KINDS = {".py": "py", ".ipynb": "ipynb", ".zip": "zip"}

TIME = sa.DateTime(timezone=True)

old_submissions = sa.table(
    "submissions", sa.column("id", sa.Integer), sa.column("filename", sa.String),
    sa.column("content", sa.LargeBinary), sa.column("status", sa.String), sa.column("score", sa.Float),
    sa.column("max_score", sa.Float), sa.column("grader_version", sa.String), sa.column("graded_at", TIME),
    sa.column("execution_seconds", sa.Float), sa.column("device", sa.String), sa.column("notes", sa.JSON),
    sa.column("instructor_log", sa.Text), sa.column("kind", sa.String), sa.column("size_bytes", sa.Integer),
    sa.column("time_source", sa.String), sa.column("current_grading_id", sa.Integer))
old_checks = sa.table(
    "check_results_v1", sa.column("submission_id", sa.Integer), sa.column("grader_version", sa.String),
    sa.column("check_name", sa.String), sa.column("points", sa.Float), sa.column("max_points", sa.Float),
    sa.column("status", sa.String), sa.column("message", sa.Text), sa.column("hidden", sa.Boolean),
    sa.column("position", sa.Integer))


def upgrade() -> None:
    bind = op.get_bind()
    gradings = op.create_table(
        "gradings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("grader_version", sa.String),
        sa.Column("graded_at", TIME),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("max_score", sa.Float),
        sa.Column("execution_seconds", sa.Float),
        sa.Column("device", sa.String),
        sa.Column("notes", sa.JSON, nullable=False),
        sa.Column("instructor_log", sa.Text),
        sa.Column("worker_id", sa.String),
        sa.CheckConstraint("status IN ('done', 'error')", name="grading_status"),
    )
    op.create_index("ix_gradings_submission_id", "gradings", ["submission_id"])
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("kind", sa.String(8)))
        batch.add_column(sa.Column("size_bytes", sa.Integer))
        batch.add_column(sa.Column("time_source", sa.String(16)))
        batch.add_column(sa.Column("current_grading_id", sa.Integer))

    # The old check rows step aside so that the new table can take the name (and, on PostgreSQL,
    # the name of the primary key's index, which a table rename keeps).
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE check_results RENAME CONSTRAINT check_results_pkey TO check_results_v1_pkey")
    op.rename_table("check_results", "check_results_v1")
    checks = op.create_table(
        "check_results",
        sa.Column("grading_id", sa.Integer, sa.ForeignKey("gradings.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("check_name", sa.String, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("max_points", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.Column("measures", sa.JSON),
        sa.CheckConstraint("status IN ('passed', 'partial', 'failed', 'error')", name="check_status"),
    )

    _describe_submissions(bind)
    grading_of = _carry_over_gradings(bind, gradings)
    for row in bind.execute(sa.select(old_checks)).mappings():
        bind.execute(checks.insert().values(
            grading_id=grading_of[row["submission_id"], row["grader_version"]], check_name=row["check_name"],
            position=row["position"], points=row["points"], max_points=row["max_points"], status=row["status"],
            message=row["message"], hidden=row["hidden"]))
    op.drop_table("check_results_v1")

    with op.batch_alter_table("submissions") as batch:
        for column in ("kind", "size_bytes", "time_source"):
            batch.alter_column(column, nullable=False)
        for column in MOVED:
            batch.drop_column(column)
        batch.create_check_constraint("submission_kind", "kind IN ('py', 'ipynb', 'zip')")
        batch.create_check_constraint("submission_time_source",
                                      "time_source IN ('received', 'flag', 'manifest', 'modified')")
        batch.create_foreign_key("fk_submissions_current_grading", "gradings", ["current_grading_id"], ["id"],
                                 ondelete="SET NULL")

    op.create_table(
        "extensions",
        sa.Column("student_id", sa.String, sa.ForeignKey("students.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("assignment", sa.String, primary_key=True),
        sa.Column("until", TIME, nullable=False),
        sa.Column("granted_at", TIME, nullable=False),
    )


def _describe_submissions(bind) -> None:
    """kind from the name's suffix, else from the bytes: the old code stored a folder zipped under
    the folder's bare name; size from the content; every old time was the time the grader received it."""
    bind.execute(old_submissions.update().values(size_bytes=sa.func.length(old_submissions.c.content),
                                                 time_source="received"))
    names = bind.execute(sa.select(old_submissions.c.id, old_submissions.c.filename)).all()
    for submission_id, filename in names:
        suffix = filename[filename.rfind("."):].lower() if "." in filename else ""
        kind = SUFFIX_KINDS.get(suffix)
        if kind is None:
            content = bind.scalar(sa.select(old_submissions.c.content).where(old_submissions.c.id == submission_id))
            kind = "zip" if zipfile.is_zipfile(io.BytesIO(content)) else "py"
        bind.execute(old_submissions.update().where(old_submissions.c.id == submission_id).values(kind=kind))


def _carry_over_gradings(bind, gradings: sa.Table) -> dict[tuple[int, str], int]:
    """Inserts the gradings the old rows imply, oldest first per submission, and points each
    submission at its current one; returns the grading id of each (submission, grader version)."""
    totals = defaultdict(list)
    for submission_id, version, points, max_points in bind.execute(
            sa.select(old_checks.c.submission_id, old_checks.c.grader_version, sa.func.sum(old_checks.c.points),
                      sa.func.sum(old_checks.c.max_points))
            .group_by(old_checks.c.submission_id, old_checks.c.grader_version)
            .order_by(old_checks.c.submission_id, old_checks.c.grader_version)):
        totals[submission_id].append((version, points, max_points))

    def insert(**values) -> int:
        return bind.execute(gradings.insert().values(**values)).inserted_primary_key[0]

    grading_of: dict[tuple[int, str], int] = {}
    latest = sa.select(old_submissions.c.id, old_submissions.c.status,
                       *(old_submissions.c[column] for column in MOVED)).order_by(old_submissions.c.id)
    for row in bind.execute(latest).mappings().all():
        submission_id = row["id"]
        # Earlier grader versions kept only their check rows: their time and notes are not known,
        # nor the order they were graded in, taken here as the order of the version strings.
        for version, points, max_points in totals[submission_id]:
            if version != row["grader_version"]:
                grading_of[submission_id, version] = insert(
                    submission_id=submission_id, grader_version=version, graded_at=None, status="done",
                    score=round(points, 2), max_score=round(max_points, 2), notes=[])
        current = None
        if row["grader_version"] is not None:
            current = grading_of[submission_id, row["grader_version"]] = insert(
                submission_id=submission_id, grader_version=row["grader_version"], graded_at=row["graded_at"],
                status="done", score=row["score"], max_score=row["max_score"],
                execution_seconds=row["execution_seconds"], device=row["device"], notes=row["notes"] or [],
                instructor_log=row["instructor_log"])
        elif row["status"] == "error" or row["graded_at"] is not None:
            # A grader error (possibly requeued since): the old code cleared the version and kept the message.
            current = insert(
                submission_id=submission_id, grader_version=None, graded_at=row["graded_at"], status="error",
                score=None, max_score=None, execution_seconds=row["execution_seconds"], device=row["device"],
                notes=row["notes"] or [], instructor_log=row["instructor_log"])
        if current is not None:
            bind.execute(old_submissions.update().where(old_submissions.c.id == submission_id)
                         .values(current_grading_id=current))
    return grading_of


def downgrade() -> None:
    """Back to one grading per submission: its current one, and per grader version the check rows
    of its newest grading of that version (the current one for the current version). Older
    gradings, kinds, sizes, time sources and extensions are lost."""
    bind = op.get_bind()
    op.drop_table("extensions")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint("fk_submissions_current_grading", type_="foreignkey")
        batch.drop_constraint("submission_kind", type_="check")
        batch.drop_constraint("submission_time_source", type_="check")
        batch.add_column(sa.Column("score", sa.Float))
        batch.add_column(sa.Column("max_score", sa.Float))
        batch.add_column(sa.Column("grader_version", sa.String))
        batch.add_column(sa.Column("graded_at", TIME))
        batch.add_column(sa.Column("execution_seconds", sa.Float))
        batch.add_column(sa.Column("device", sa.String))
        batch.add_column(sa.Column("notes", sa.JSON))
        batch.add_column(sa.Column("instructor_log", sa.Text))

    gradings = sa.table("gradings", sa.column("id", sa.Integer), sa.column("submission_id", sa.Integer),
                        sa.column("status", sa.String),
                        *(sa.column(column, old_submissions.c[column].type) for column in MOVED))
    current_of = dict(bind.execute(sa.select(old_submissions.c.id, old_submissions.c.current_grading_id)).all())
    chosen: dict[tuple[int, str], int] = {}
    for grading in bind.execute(sa.select(gradings).order_by(gradings.c.id)).mappings().all():
        if grading["id"] == current_of[grading["submission_id"]]:
            bind.execute(old_submissions.update().where(old_submissions.c.id == grading["submission_id"])
                         .values(**{column: grading[column] for column in MOVED}))
        key = grading["submission_id"], grading["grader_version"]
        if grading["status"] == "done" and chosen.get(key) != current_of[grading["submission_id"]]:
            chosen[key] = grading["id"]

    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE check_results RENAME CONSTRAINT check_results_pkey TO check_results_v2_pkey")
    op.rename_table("check_results", "check_results_v2")
    restored = op.create_table(
        "check_results",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("grader_version", sa.String, primary_key=True),
        sa.Column("check_name", sa.String, primary_key=True),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("max_points", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.CheckConstraint("status IN ('passed', 'partial', 'failed', 'error')", name="check_status"),
    )
    newer = sa.table("check_results_v2", sa.column("grading_id", sa.Integer), sa.column("check_name", sa.String),
                     sa.column("points", sa.Float), sa.column("max_points", sa.Float), sa.column("status", sa.String),
                     sa.column("message", sa.Text), sa.column("hidden", sa.Boolean), sa.column("position", sa.Integer))
    for (submission_id, version), grading_id in chosen.items():
        for row in bind.execute(sa.select(newer).where(newer.c.grading_id == grading_id)).mappings().all():
            bind.execute(restored.insert().values(
                submission_id=submission_id, grader_version=version,
                **{key: value for key, value in row.items() if key != "grading_id"}))
    op.drop_table("check_results_v2")

    with op.batch_alter_table("submissions") as batch:
        for column in ("kind", "size_bytes", "time_source", "current_grading_id"):
            batch.drop_column(column)
    op.drop_index("ix_gradings_submission_id", "gradings")
    op.drop_table("gradings")
