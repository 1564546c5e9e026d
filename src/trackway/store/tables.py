"""The schema. Every table and every unique key starts with `org_id`.

Times are integer milliseconds since the epoch (UTC); ids are 24-hex strings
made by the server, or the client's own trackingId/sessionId strings.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from trackway.store.jsontext import JsonText

metadata = MetaData()

ID = String(24)
CLIENT_ID = String(256)


def _org() -> Column[str]:
    return Column("org_id", ID, primary_key=True)


orgs = Table(
    "orgs",
    metadata,
    _org(),
    Column("name", String(128), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # The origins whose pages may call the tracking endpoints (CORS): a
    # JSON list of "https://host[:port]" and "*"; null or [] for none.
    Column("allowed_origins", JsonText, nullable=True),
    Index("ix_orgs_name", "name"),
)

api_keys = Table(
    "api_keys",
    metadata,
    _org(),
    Column("key_id", ID, primary_key=True),
    Column("name", String(128), nullable=True),
    Column("secret_hash", String(64), nullable=False),
    Column("roles", JsonText, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    # Requests per minute for calls with this key, counted for the key
    # alone; null: the org's limit applies. 0: no limit for this key.
    Column("rate_limit", Integer, nullable=True),
    Index("ix_api_keys_key_id", "key_id"),
)

customers = Table(
    "customers",
    metadata,
    _org(),
    Column("customer_id", ID, primary_key=True),
    Column("rev", Integer, nullable=False),
    Column("profile", JsonText, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("modified_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=True),
    # {"name": ms, "custom.plan": ms}: when each trait was last given, so an
    # identify that arrives late does not overwrite a newer value.
    Column("trait_times", JsonText, nullable=True),
    Index("ix_customers_activity", "org_id", "last_seen_at"),
)

# Each identifier value belongs to at most one customer of an org.
identifiers = Table(
    "identifiers",
    metadata,
    _org(),
    Column("kind", String(16), primary_key=True),
    Column("value", String(512), primary_key=True),
    Column("customer_id", ID, nullable=False),
    Index("ix_identifiers_customer", "org_id", "customer_id"),
)

# One row per visitor (trackingId): its identity record and binding.
visitors = Table(
    "visitors",
    metadata,
    _org(),
    Column("tracking_id", CLIENT_ID, primary_key=True),
    Column("identity_id", ID, nullable=False),
    Column("customer_id", ID, nullable=True),
    Column("remember", Boolean, nullable=False),
    Column("bound_session_id", CLIENT_ID, nullable=True),
    Column("pending", JsonText, nullable=True),
    Column("conflict", JsonText, nullable=True),
    Column("email", String(512), nullable=True),
    Column("status", String(16), nullable=False),
    Column("status_at", BigInteger, nullable=False),
    Column("session_id", CLIENT_ID, nullable=True),
    Column("session_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("uq_visitors_identity", "org_id", "identity_id", unique=True),
    Index("ix_visitors_customer", "org_id", "customer_id"),
)

sessions = Table(
    "sessions",
    metadata,
    _org(),
    Column("tracking_id", CLIENT_ID, primary_key=True),
    Column("session_id", CLIENT_ID, primary_key=True),
    Column("id", ID, nullable=False),
    Column("customer_id", ID, nullable=True),
    Column("first_event_at", BigInteger, nullable=False),
    Column("last_event_at", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Index("ix_sessions_customer", "org_id", "customer_id", "last_event_at"),
    Index("ix_sessions_visitor", "org_id", "tracking_id", "last_event_at"),
)

# Tracking events and change records, so one index serves the timeline.
# kind: "tracking", "create" or "update".
events = Table(
    "events",
    metadata,
    _org(),
    Column("event_id", ID, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("customer_id", ID, nullable=True),
    Column("tracking_id", CLIENT_ID, nullable=True),
    Column("session_id", CLIENT_ID, nullable=True),
    Column("name", String(255), nullable=True),
    Column("meta", JsonText, nullable=True),
    Column("changes", JsonText, nullable=True),
    Column("real_ip", String(64), nullable=True),
    Column("published_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_events_timeline", "org_id", "customer_id", "published_at", "event_id"),
    Index("ix_events_visitor", "org_id", "tracking_id", "session_id", "published_at"),
    # What arrived lately, whatever its event time: the console's live page.
    Index("ix_events_arrival", "org_id", "created_at"),
)

idempotency = Table(
    "idempotency",
    metadata,
    _org(),
    Column("key", CLIENT_ID, primary_key=True),
    Column("body_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("headers", JsonText, nullable=False),
    Column("body", Text, nullable=False),
    Column("customer_id", ID, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_idempotency_customer", "org_id", "customer_id"),
)

# Segment messageIds seen within the de-duplication window, with a digest
# of the message, so a repeat stores nothing and a reuse is caught.
segment_messages = Table(
    "segment_messages",
    metadata,
    _org(),
    Column("message_id", CLIENT_ID, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Index("ix_segment_messages_received", "org_id", "received_at"),
)

# Segment messages that were refused, kept for a week for their senders.
rejected_messages = Table(
    "rejected_messages",
    metadata,
    _org(),
    Column("rejected_id", ID, primary_key=True),
    Column("received_at", BigInteger, nullable=False),
    Column("batch_index", Integer, nullable=False),
    Column("message_id", CLIENT_ID, nullable=True),
    Column("reason", Text, nullable=False),
    Column("message", JsonText, nullable=True),  # a JSON null message
    Index("ix_rejected_messages_received", "org_id", "received_at"),
)

# Calls per one-minute window, for servers that count in PostgreSQL
# (TRACKWAY_RATE_LIMIT_STORE=postgresql). subject: "org" for the org's
# allowance, else the id of a key with a limit of its own.
rate_counts = Table(
    "rate_counts",
    metadata,
    _org(),
    Column("subject", ID, primary_key=True),
    Column("window_start", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),
)
