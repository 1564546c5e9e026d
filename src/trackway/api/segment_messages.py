"""One Segment message, checked and turned into calls, or refused.

`decode_message` never raises for a bad message: it answers a `Refusal`
with the reason, so the other messages of a batch go on. The identity
part goes through the Kustomer identity Struct and rules, so an email, a
phone or a date is checked exactly as on the Kustomer door.
"""

import hashlib
import ipaddress
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from trackway.api import schemas
from trackway.api.body import convert
from trackway.api.segment_schemas import SegmentMessage
from trackway.domain import segment
from trackway.domain.calls import identity_call
from trackway.domain.errors import Invalid, invalid
from trackway.domain.model import JSON, EventCall, IdentityCall
from trackway.domain.policy import Policy
from trackway.store.rejected import Refusal
from trackway.store.segment import Message

MAX_MESSAGE_BYTES = 32 * 1024
MAX_IP = 64
# Fields a retry may change without making it another message.
_TRANSPORT = ("sentAt", "receivedAt", "writeKey")
_canonical = msgspec.json.Encoder(order="sorted", decimal_format="number")


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the request adds to each of its messages."""

    received_at: int
    peer_ip: str | None
    context: dict[str, Any]
    sent_at: str | None
    policy: Policy


def decode_message(
    raw: JSON, index: int, kind: str | None, envelope: Envelope
) -> Message | Refusal:
    """The message at `index`; `kind` is the path's type for single calls."""
    # A refused message is kept and listed: never with the key.
    raw = _without_write_keys(raw)
    try:
        return _decode(raw, index, kind, envelope)
    except Invalid as error:
        reason = "; ".join(p.detail for p in error.problems)
        return Refusal(index, reason, raw, _message_id_of(raw))


def _without_write_keys(value: JSON) -> JSON:
    """`value` without any `writeKey` member, however deep (some clients
    put it in `context` too)."""
    if isinstance(value, dict):
        return {k: _without_write_keys(v) for k, v in value.items() if k != "writeKey"}
    if isinstance(value, list):
        return [_without_write_keys(v) for v in value]
    return value


def _decode(raw: JSON, index: int, kind: str | None, envelope: Envelope) -> Message:
    if not isinstance(raw, dict):
        raise invalid("a message must be a JSON object")
    if len(_canonical.encode(raw)) > MAX_MESSAGE_BYTES:
        raise invalid(f"a message must be at most {MAX_MESSAGE_BYTES} bytes")
    message = convert(raw, SegmentMessage)
    kind = kind or message.type
    if kind is None:
        raise invalid("type is required")
    moment = segment.event_moment(
        message.timestamp, message.sent_at or envelope.sent_at, envelope.received_at
    )
    identity, event = _calls(kind, message, moment, envelope)
    return Message(
        index=index,
        message_id=message.message_id,
        digest=_digest(kind, raw),
        identity=identity,
        event=event,
        at=moment.at,
        raw=raw,
    )


def _calls(
    kind: str, message: SegmentMessage, moment: segment.Moment, envelope: Envelope
) -> tuple[IdentityCall | None, EventCall | None]:
    user_id = _text(message.user_id)
    anonymous_id = _text(message.anonymous_id)
    context = {**envelope.context, **(message.context or {})}
    if kind == "alias":
        parts = segment.alias_parts(_text(message.previous_id), user_id)
        return _identity(parts, None, None, envelope.policy), None
    tracking_id = segment.visitor_of(anonymous_id, user_id)
    if kind == "identify":
        traits = segment.identify_traits(message.traits or {}, context)
        parts = segment.identify_parts(user_id, traits, context)
        return _identity(parts, tracking_id, None, envelope.policy), None
    if kind == "group":
        group_id = _text(message.group_id)
        parts = segment.group_parts(user_id, group_id, message.traits or {})
        return _identity(parts, tracking_id, None, envelope.policy), None
    properties = message.properties or {}
    session_id = segment.session_of(properties)
    event = segment.segment_event(
        segment.event_name(kind, message.event),
        tracking_id,
        session_id,
        segment.event_meta(kind, properties, message.name, message.category, moment),
        moment,
        _ip(context, envelope.peer_ip),
    )
    person = segment.person_parts(user_id)
    if person is None:
        return None, event
    return _identity(person, tracking_id, session_id, envelope.policy), event


def _identity(
    parts: segment.IdentityParts,
    tracking_id: str | None,
    session_id: str | None,
    policy: Policy,
) -> IdentityCall:
    body = {"trackingId": tracking_id, "sessionId": session_id, **parts.body}
    try:
        checked = convert(body, schemas.Identity)
        plain = msgspec.to_builtins(checked, builtin_types=(Decimal,))
        call = identity_call(plain, policy)
    except Invalid as error:
        raise segment.in_segment_terms(error, parts.sources) from None
    return segment.with_custom(call, parts.custom)


def _ip(context: dict[str, Any], peer: str | None) -> str | None:
    """`context.ip` when the message names the person's address."""
    given = context.get("ip")
    if given is None:
        return peer
    if isinstance(given, str) and len(given) <= MAX_IP:
        try:
            return str(ipaddress.ip_address(given))
        except ValueError:
            pass
    raise invalid("context.ip must be an IP address")


def _text(value: str | int | None) -> str | None:
    return None if value is None else str(value)


def _digest(kind: str, raw: dict[str, Any]) -> str:
    """The message's meaning: key order, spacing and transport fields
    (sentAt, writeKey) do not count."""
    kept = {k: v for k, v in raw.items() if k not in _TRANSPORT}
    return hashlib.sha256(_canonical.encode([kind, kept])).hexdigest()


def _message_id_of(raw: JSON) -> str | None:
    if isinstance(raw, dict) and isinstance(raw.get("messageId"), str):
        message_id: str = raw["messageId"]
        return message_id
    return None
