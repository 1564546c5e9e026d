"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-03 16:48:58.124843
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("key_id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "key_id"),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_api_keys_key_id", ["key_id"], unique=False)

    op.create_table(
        "customers",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("customer_id", sa.String(length=24), nullable=False),
        sa.Column("rev", sa.Integer(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("modified_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "customer_id"),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_activity", ["org_id", "last_seen_at"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("event_id", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=24), nullable=True),
        sa.Column("tracking_id", sa.String(length=256), nullable=True),
        sa.Column("session_id", sa.String(length=256), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("meta", sa.Text(), nullable=True),
        sa.Column("changes", sa.Text(), nullable=True),
        sa.Column("real_ip", sa.String(length=64), nullable=True),
        sa.Column("published_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "event_id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_timeline",
            ["org_id", "customer_id", "published_at", "event_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_events_visitor",
            ["org_id", "tracking_id", "session_id", "published_at"],
            unique=False,
        )

    op.create_table(
        "idempotency",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.String(length=24), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "key"),
    )
    with op.batch_alter_table("idempotency", schema=None) as batch_op:
        batch_op.create_index(
            "ix_idempotency_customer", ["org_id", "customer_id"], unique=False
        )

    op.create_table(
        "identifiers",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.Column("customer_id", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "kind", "value"),
    )
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_identifiers_customer", ["org_id", "customer_id"], unique=False
        )

    op.create_table(
        "orgs",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id"),
    )
    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.create_index("ix_orgs_name", ["name"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("tracking_id", sa.String(length=256), nullable=False),
        sa.Column("session_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("customer_id", sa.String(length=24), nullable=True),
        sa.Column("first_event_at", sa.BigInteger(), nullable=False),
        sa.Column("last_event_at", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "tracking_id", "session_id"),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sessions_customer",
            ["org_id", "customer_id", "last_event_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_sessions_visitor",
            ["org_id", "tracking_id", "last_event_at"],
            unique=False,
        )

    op.create_table(
        "visitors",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("tracking_id", sa.String(length=256), nullable=False),
        sa.Column("identity_id", sa.String(length=24), nullable=False),
        sa.Column("customer_id", sa.String(length=24), nullable=True),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.Column("bound_session_id", sa.String(length=256), nullable=True),
        sa.Column("pending", sa.Text(), nullable=True),
        sa.Column("conflict", sa.Text(), nullable=True),
        sa.Column("email", sa.String(length=512), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_at", sa.BigInteger(), nullable=False),
        sa.Column("session_id", sa.String(length=256), nullable=True),
        sa.Column("session_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "tracking_id"),
    )
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.create_index(
            "ix_visitors_customer", ["org_id", "customer_id"], unique=False
        )
        batch_op.create_index(
            "uq_visitors_identity", ["org_id", "identity_id"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.drop_index("uq_visitors_identity")
        batch_op.drop_index("ix_visitors_customer")

    op.drop_table("visitors")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_visitor")
        batch_op.drop_index("ix_sessions_customer")

    op.drop_table("sessions")
    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.drop_index("ix_orgs_name")

    op.drop_table("orgs")
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.drop_index("ix_identifiers_customer")

    op.drop_table("identifiers")
    with op.batch_alter_table("idempotency", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_customer")

    op.drop_table("idempotency")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_visitor")
        batch_op.drop_index("ix_events_timeline")

    op.drop_table("events")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_activity")

    op.drop_table("customers")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_key_id")

    op.drop_table("api_keys")
