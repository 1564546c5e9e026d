"""segment door: messageIds, rejected messages, trait times

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trait_times", sa.Text(), nullable=True))

    op.create_table(
        "segment_messages",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("message_id", sa.String(length=256), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "message_id"),
    )
    with op.batch_alter_table("segment_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_segment_messages_received", ["org_id", "received_at"], unique=False
        )

    op.create_table(
        "rejected_messages",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("rejected_id", sa.String(length=24), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("batch_index", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=256), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "rejected_id"),
    )
    with op.batch_alter_table("rejected_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rejected_messages_received", ["org_id", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rejected_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_rejected_messages_received")

    op.drop_table("rejected_messages")
    with op.batch_alter_table("segment_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_messages_received")

    op.drop_table("segment_messages")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("trait_times")
