"""Report figures: the numbers each grading's feedback report draws (grader.pictures.figures), as JSON.

Gradings recorded before this revision have none; their reports say so.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gradings") as table:
        table.add_column(sa.Column("figures", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gradings") as table:
        table.drop_column("figures")
