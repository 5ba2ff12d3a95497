"""Baseline: the gradebook as the code of 2026-12-01 made it (one score per submission, check rows
keyed by grader version). Gradebooks made before versioned migrations are stamped at this revision."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "students",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("display_name", sa.String),
        sa.Column("pseudonym", sa.String, nullable=False, unique=True),
        sa.Column("token_hash", sa.String),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("student_id", sa.String, sa.ForeignKey("students.id", ondelete="CASCADE"), nullable=False),
        sa.Column("assignment", sa.String, nullable=False),
        sa.Column("filename", sa.String, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("max_score", sa.Float),
        sa.Column("grader_version", sa.String),
        sa.Column("graded_at", sa.DateTime(timezone=True)),
        sa.Column("execution_seconds", sa.Float),
        sa.Column("device", sa.String),
        sa.Column("notes", sa.JSON),
        sa.Column("instructor_log", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.String),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("student_id", "assignment", "content_hash"),
        sa.CheckConstraint("status IN ('queued', 'grading', 'done', 'error')", name="submission_status"),
    )
    op.create_index("ix_submissions_student_id", "submissions", ["student_id"])
    op.create_index("ix_submissions_assignment", "submissions", ["assignment"])
    op.create_table(
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


def downgrade() -> None:
    for table in ("check_results", "submissions", "students", "settings"):
        op.drop_table(table)
