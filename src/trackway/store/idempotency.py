"""Stored answers for `Idempotency-Key` repeats, scoped per org.

The key is claimed with an insert before the call's work is done, so of two
identical requests racing on PostgreSQL, the second waits for the first to
commit and then answers with its stored response.
"""

from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from trackway.domain.errors import Conflict, Problem
from trackway.store.ledger import insert_if_absent
from trackway.store.tables import idempotency

PENDING = 0  # status of a claimed key whose answer is not written yet


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    key: str
    body_hash: str


def claim(
    connection: Connection,
    org_id: str,
    key: IdempotencyKey,
    now: int,
    window_ms: int,
) -> StoredResponse | None:
    """None when this call owns the key; else the first call's answer.

    A key reused with a different body within the window is a 409.
    """
    values = {
        "org_id": org_id,
        "key": key.key,
        "body_hash": key.body_hash,
        "status": PENDING,
        "headers": {},
        "body": "",
        "created_at": now,
    }
    if insert_if_absent(connection, idempotency, values):
        return None
    row = connection.execute(
        select(idempotency).where(
            idempotency.c.org_id == org_id, idempotency.c.key == key.key
        )
    ).one()
    if row.created_at < now - window_ms or row.status == PENDING:
        _reclaim(connection, org_id, values)
        return None
    if row.body_hash != key.body_hash:
        raise Conflict(
            Problem("Idempotency-Key was already used with a different body")
        )
    return StoredResponse(row.status, row.headers, row.body.encode())


def save(
    connection: Connection,
    org_id: str,
    key: IdempotencyKey,
    response: StoredResponse,
    customer_id: str | None,
) -> None:
    connection.execute(
        update(idempotency)
        .where(idempotency.c.org_id == org_id, idempotency.c.key == key.key)
        .values(
            status=response.status,
            headers=response.headers,
            body=response.body.decode(),
            customer_id=customer_id,
        )
    )


def _reclaim(connection: Connection, org_id: str, values: dict[str, object]) -> None:
    """Take over a key whose window has passed (or left unanswered)."""
    connection.execute(
        update(idempotency)
        .where(idempotency.c.org_id == org_id, idempotency.c.key == values["key"])
        .values(values)
    )
