"""The Segment door's refused messages, as the live page lists them."""

from trackway.console.live import Rejected
from trackway.store import rejected
from trackway.store.database import Database


def rejected_since(
    db: Database, org_id: str, since_ms: int, limit: int
) -> list[Rejected]:
    """A `RejectedSource` over the rejected-messages store."""
    return [
        Rejected(
            id=message.id,
            received_at=message.received_at,
            reason=message.reason,
            summary=_summary(message.message),
        )
        for message in rejected.since(db, org_id, since_ms, limit)
    ]


def _summary(message: object) -> str:
    """The message's type and event name, when it has them."""
    if not isinstance(message, dict):
        return "a message that is not a JSON object"
    parts = [message.get("type"), message.get("event") or message.get("name")]
    return " ".join(str(part) for part in parts if isinstance(part, str)) or "message"
