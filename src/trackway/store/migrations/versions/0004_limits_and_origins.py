"""rate limits per key, counters shared by processes, CORS origins per org

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 09:00:00.000000

`api_keys.rate_limit` replaces the org's requests per minute for calls
made with that key. `rate_counts` holds the calls of each org (or key) in
each one-minute window, for servers that count in PostgreSQL. The origins
a browser may call the tracking endpoints from live on `orgs`, which is
read before any org is known (a preflight carries no key).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_limit", sa.Integer(), nullable=True))

    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allowed_origins", sa.Text(), nullable=True))

    op.create_table(
        "rate_counts",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=24), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "subject", "window_start"),
    )


def downgrade() -> None:
    op.drop_table("rate_counts")
    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.drop_column("allowed_origins")

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("rate_limit")
