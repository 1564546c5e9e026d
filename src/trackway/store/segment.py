"""Storing a Segment request: one transaction, each message its own unit.

Messages arrive validated; here each one's messageId is claimed, then the
message goes through the same `apply` as a Kustomer call (identity first,
then event). A messageId seen in the org within the de-duplication window
stores nothing new when the payload is the same, and is refused when it is
not. Refusals, from validation or from here, are kept in the same
transaction, so a request is stored whole or not at all (a retry after a
503 is safe, and its repeats are recognised by their messageIds).
"""

from dataclasses import dataclass, field
from enum import Enum

from sqlalchemy import Connection, delete, select, update

from trackway.domain.errors import Unavailable
from trackway.domain.model import JSON, EventCall, IdentityCall
from trackway.domain.policy import Policy
from trackway.domain.resolution import RaceLost
from trackway.logs import get_logger
from trackway.store import rejected
from trackway.store.database import Contention, Database
from trackway.store.ledger import SqlLedger, upsert
from trackway.store.rejected import Refusal
from trackway.store.tables import segment_messages
from trackway.store.writer import Outcome, apply, report

FORGET_EVERY_MS = 60_000
# When this process last forgot each org's old messageIds and refusals.
_last_forgotten: dict[str, int] = {}
_log = get_logger("trackway.segment")
REUSED = "messageId {} was already used by a message with another payload"


@dataclass(frozen=True, slots=True)
class Message:
    """A valid message: its calls, its time, and what identifies it."""

    index: int
    message_id: str | None
    digest: str
    identity: IdentityCall | None
    event: EventCall | None
    at: int
    raw: JSON


@dataclass(slots=True)
class Tally:
    """What a request stored: messages accepted (repeats included, as they
    are stored once) and the refusals kept."""

    accepted: int = 0
    refusals: list[Refusal] = field(default_factory=list)


class _Claim(Enum):
    NEW = "new"
    REPEAT = "repeat"
    REUSED = "reused"


def store_messages(
    database: Database,
    policy: Policy,
    org_id: str,
    received_at: int,
    messages: list[Message],
    refusals: list[Refusal],
) -> Tally:
    """Store the valid `messages` and keep `refusals`, in one transaction."""

    def once(conn: Connection) -> tuple[Tally, list[Outcome]]:
        return _once(conn, policy, org_id, received_at, messages, refusals)

    tally, outcomes = database.transact(once, retry_on=(RaceLost,))
    for outcome in outcomes:
        report(org_id, outcome)
    _forget_now_and_then(database, org_id, received_at, policy.dedupe_window_ms)
    return tally


def _once(
    conn: Connection,
    policy: Policy,
    org_id: str,
    received_at: int,
    messages: list[Message],
    refusals: list[Refusal],
) -> tuple[Tally, list[Outcome]]:
    tally = Tally(refusals=list(refusals))
    outcomes: list[Outcome] = []
    window = policy.dedupe_window_ms
    ledger = SqlLedger(conn)
    for message in messages:
        claim = _claim(conn, org_id, message, received_at, window)
        if claim is _Claim.REUSED:
            tally.refusals.append(_reused(message))
            continue
        tally.accepted += 1
        if claim is _Claim.NEW:
            identity, event = message.identity, message.event
            outcomes.append(
                apply(ledger, org_id, identity, event, received_at, policy, message.at)
            )
    for refusal in sorted(tally.refusals, key=lambda r: r.index):
        rejected.keep(conn, org_id, refusal, received_at)
    return tally, outcomes


def _claim(
    conn: Connection, org_id: str, message: Message, now: int, window: int
) -> _Claim:
    """Claim the message's id; a message without one is always new."""
    if message.message_id is None:
        return _Claim.NEW
    values = {
        "org_id": org_id,
        "message_id": message.message_id,
        "digest": message.digest,
        "received_at": now,
    }
    statement = (
        upsert(conn, segment_messages)
        .values(values)
        .on_conflict_do_nothing()
        .returning(segment_messages.c.message_id)
    )
    # RETURNING, not rowcount: drivers disagree on rowcount here.
    if conn.execute(statement).first() is not None:
        return _Claim.NEW
    mine = (segment_messages.c.org_id == org_id) & (
        segment_messages.c.message_id == message.message_id
    )
    row = conn.execute(select(segment_messages).where(mine)).one()
    if row.received_at < now - window:
        conn.execute(update(segment_messages).where(mine).values(values))
        return _Claim.NEW
    if row.digest == message.digest:
        return _Claim.REPEAT
    return _Claim.REUSED


def _reused(message: Message) -> Refusal:
    return Refusal(
        index=message.index,
        reason=REUSED.format(message.message_id),
        message=message.raw,
        message_id=message.message_id,
        reused_id=True,
    )


def _forget_now_and_then(
    database: Database, org_id: str, now: int, window: int
) -> None:
    """Forget old rows at most once a minute per org, in a transaction of
    its own, so concurrent batches do not queue behind the same deletes.

    Expired rows are harmless meanwhile: an expired messageId is taken
    over by `_claim`, and old refusals are never listed.
    """
    if now - _last_forgotten.get(org_id, now - FORGET_EVERY_MS) < FORGET_EVERY_MS:
        return
    _last_forgotten[org_id] = now
    try:
        with database.write() as conn:
            forget_old(conn, org_id, now, window)
    except (Unavailable, Contention):
        _log.warning("segment_purge_skipped", org=org_id)


def forget_old(conn: Connection, org_id: str, now: int, window: int) -> None:
    """Drop the org's messageIds past the window and refusals past a week."""
    conn.execute(
        delete(segment_messages)
        .where(segment_messages.c.org_id == org_id)
        .where(segment_messages.c.received_at < now - window)
    )
    rejected.purge(conn, org_id, now)
