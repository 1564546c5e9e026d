"""index events by arrival time

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 09:00:00.000000

The console's live page asks for the events written since a moment, across
every server process; without this index that is a scan of the org's
events every second per open page.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_arrival", ["org_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_arrival")
