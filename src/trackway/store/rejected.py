"""Refused Segment messages, kept for a week so their senders can see why.

Each row holds the message as it arrived (any JSON), its index in its
batch (0 for a single call), its messageId when it had a usable one, and
the reason. Rows older than `RETENTION_MS` are deleted by the next write
of their org and are never listed.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select

from trackway.domain.ids import new_id
from trackway.domain.model import JSON
from trackway.domain.times import now_ms
from trackway.store.database import Database
from trackway.store.tables import orgs, rejected_messages

RETENTION_MS = 7 * 86_400_000
MAX_MESSAGE_ID = 256


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one message of a request was not stored."""

    index: int
    reason: str
    message: JSON
    message_id: str | None = None
    # True for a messageId reused with another payload (a 409 when alone).
    reused_id: bool = False


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    org_id: str
    org_name: str
    id: str
    received_at: int
    index: int
    message_id: str | None
    reason: str
    message: JSON


def keep(conn: Connection, org_id: str, refusal: Refusal, received_at: int) -> None:
    """Store one refusal in the caller's transaction."""
    message_id = refusal.message_id
    if message_id is not None and len(message_id) > MAX_MESSAGE_ID:
        message_id = None
    conn.execute(
        rejected_messages.insert().values(
            org_id=org_id,
            rejected_id=new_id(received_at / 1000),
            received_at=received_at,
            batch_index=refusal.index,
            message_id=message_id,
            reason=refusal.reason,
            message=refusal.message,
        )
    )


def purge(conn: Connection, org_id: str, now: int) -> None:
    """Forget the org's refusals older than the retention."""
    conn.execute(
        delete(rejected_messages)
        .where(rejected_messages.c.org_id == org_id)
        .where(rejected_messages.c.received_at < now - RETENTION_MS)
    )


def recent(
    db: Database, org_id: str | None, offset: int, limit: int
) -> list[RejectedMessage]:
    """Refusals of the last week, newest first; every org's when None."""
    table = rejected_messages
    query = (
        select(table, orgs.c.name)
        .join(orgs, orgs.c.org_id == table.c.org_id)
        .where(table.c.received_at >= now_ms() - RETENTION_MS)
        .order_by(table.c.received_at.desc(), table.c.rejected_id.desc())
        .offset(offset)
        .limit(limit)
    )
    if org_id is not None:
        query = query.where(table.c.org_id == org_id)
    with db.read() as conn:
        return [_rejected(row) for row in conn.execute(query)]


def since(
    db: Database, org_id: str, since_ms: int, limit: int
) -> list[RejectedMessage]:
    """The org's refusals received at or after `since_ms`, newest first."""
    table = rejected_messages
    query = (
        select(table, orgs.c.name)
        .join(orgs, orgs.c.org_id == table.c.org_id)
        .where(table.c.org_id == org_id, table.c.received_at >= since_ms)
        .order_by(table.c.received_at.desc(), table.c.rejected_id.desc())
        .limit(limit)
    )
    with db.read() as conn:
        return [_rejected(row) for row in conn.execute(query)]


def _rejected(row: Any) -> RejectedMessage:
    return RejectedMessage(
        org_id=row.org_id,
        org_name=row.name,
        id=row.rejected_id,
        received_at=row.received_at,
        index=row.batch_index,
        message_id=row.message_id,
        reason=row.reason,
        message=row.message,
    )
