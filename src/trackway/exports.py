"""The export file: NDJSON that `trackway export` writes and `trackway
import` reads back.

The first line says what the file is:

    {"trackwayExport": 1, "org": "acme", "exportedAt": "...",
     "customer": null, "since": null}

Then one JSON object per line, each with a `type`, customer after
customer: the customer (`"type": "customer"`, with its profile and the
identifiers that find it), its visitors (`visitor`), sessions
(`session`), tracking events (`event`) and change records (`change`),
oldest first. Every line names its customer, and every record keeps its
ids and times, so an import restores the same answers of the read API.
Times are ISO-8601 UTC with milliseconds; numbers in profiles and meta
keep their digits exactly.
"""

from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import msgspec

from trackway.domain.errors import Invalid
from trackway.domain.model import (
    ChangeRecord,
    Customer,
    Identifier,
    IdentifierKind,
    Session,
    TrackingEvent,
    Visitor,
)
from trackway.domain.times import format_ms, parse_datetime
from trackway.store.exporter import Exported, ExportedCustomer

VERSION = 1
MARK = "trackwayExport"


class Header(msgspec.Struct, rename="camel", kw_only=True):
    trackway_export: int
    org: str
    exported_at: str
    customer: str | None = None
    since: str | None = None


class _Line(msgspec.Struct, rename="camel", tag_field="type", kw_only=True):
    pass


class _Identifier(msgspec.Struct):
    kind: IdentifierKind
    value: str


class CustomerLine(_Line, tag="customer"):
    id: str
    rev: int
    profile: dict[str, Any]
    created_at: str
    updated_at: str
    modified_at: str
    last_seen_at: str | None = None
    identifiers: list[_Identifier] = []


class VisitorLine(_Line, tag="visitor"):
    customer_id: str
    tracking_id: str
    identity_id: str
    remember: bool
    bound_session_id: str | None
    pending: dict[str, Any] | None
    conflict: dict[str, Any] | None
    email: str | None
    status: str
    status_at: str
    session_id: str | None
    session_at: str | None
    created_at: str
    updated_at: str


class SessionLine(_Line, tag="session"):
    customer_id: str
    id: str
    tracking_id: str
    session_id: str
    first_event_at: str
    last_event_at: str
    count: int


class EventLine(_Line, tag="event"):
    customer_id: str
    id: str
    tracking_id: str
    session_id: str
    name: str
    meta: dict[str, Any]
    real_ip: str | None
    published_at: str
    created_at: str


class ChangeLine(_Line, tag="change"):
    customer_id: str
    id: str
    kind: Literal["create", "update"]
    changes: dict[str, Any] | None
    published_at: str
    created_at: str


Line = CustomerLine | VisitorLine | SessionLine | EventLine | ChangeLine

_encoder = msgspec.json.Encoder(decimal_format="number")
# Decimals keep the digits of non-integer numbers, as the database does.
_decoder = msgspec.json.Decoder(Line, float_hook=Decimal)
_peek = msgspec.json.Decoder(dict[str, Any])
_header = msgspec.json.Decoder(Header)


class FormatError(ValueError):
    """A line that is not a record of an export file."""


def header_line(
    org: str, exported_at: int, customer: str | None, since: int | None
) -> bytes:
    """The first line of an export file, newline included."""
    header = Header(
        trackway_export=VERSION,
        org=org,
        exported_at=format_ms(exported_at),
        customer=customer,
        since=None if since is None else format_ms(since),
    )
    return _encoder.encode(header) + b"\n"


def is_export(first_line: bytes | str) -> bool:
    """True when `first_line` is the header of an export file."""
    try:
        return MARK in _peek.decode(first_line)
    except (msgspec.DecodeError, UnicodeEncodeError):
        return False


def read_header(line: bytes | str) -> Header:
    try:
        header = _header.decode(line)
    except msgspec.DecodeError as error:
        raise FormatError(f"not an export header: {error}") from None
    if header.trackway_export != VERSION:
        raise FormatError(
            f"export version {header.trackway_export}; this Trackway reads"
            f" version {VERSION}"
        )
    return header


def encode(record: Exported) -> bytes:
    """One line of the file, newline included."""
    return _encoder.encode(_line(record)) + b"\n"


def decode(line: bytes | str, org_id: str) -> Exported:
    """The record of one line, in org `org_id`; FormatError when it is
    not one."""
    try:
        parsed = _decoder.decode(line)
        return _record(parsed, org_id)
    except msgspec.DecodeError as error:
        raise FormatError(str(error)) from None
    except UnicodeEncodeError:
        # A line read as text holds bytes that are not UTF-8 as escapes,
        # which msgspec cannot take back to bytes.
        raise FormatError("it is not UTF-8 text") from None
    except InvalidOperation:
        raise FormatError("a number's exponent is out of range") from None
    except Invalid as error:
        raise FormatError(error.problems[0].detail) from None


def _line(record: Exported) -> Line:
    if isinstance(record, ExportedCustomer):
        return _customer_line(record)
    if isinstance(record, Visitor):
        return _visitor_line(record)
    if isinstance(record, Session):
        return _session_line(record)
    if isinstance(record, TrackingEvent):
        return _event_line(record)
    return _change_line(record)


def _customer_line(record: ExportedCustomer) -> CustomerLine:
    customer = record.customer
    return CustomerLine(
        id=customer.id,
        rev=customer.rev,
        profile=customer.profile,
        created_at=format_ms(customer.created_at),
        updated_at=format_ms(customer.updated_at),
        modified_at=format_ms(customer.modified_at),
        last_seen_at=_time(customer.last_seen_at),
        identifiers=[_Identifier(i.kind, i.value) for i in record.identifiers],
    )


def _visitor_line(visitor: Visitor) -> VisitorLine:
    assert visitor.customer_id is not None
    return VisitorLine(
        customer_id=visitor.customer_id,
        tracking_id=visitor.tracking_id,
        identity_id=visitor.identity_id,
        remember=visitor.remember,
        bound_session_id=visitor.bound_session_id,
        pending=visitor.pending,
        conflict=visitor.conflict,
        email=visitor.email,
        status=visitor.status,
        status_at=format_ms(visitor.status_at),
        session_id=visitor.session_id,
        session_at=_time(visitor.session_at),
        created_at=format_ms(visitor.created_at),
        updated_at=format_ms(visitor.updated_at),
    )


def _session_line(session: Session) -> SessionLine:
    assert session.customer_id is not None
    return SessionLine(
        customer_id=session.customer_id,
        id=session.id,
        tracking_id=session.tracking_id,
        session_id=session.session_id,
        first_event_at=format_ms(session.first_event_at),
        last_event_at=format_ms(session.last_event_at),
        count=session.count,
    )


def _event_line(event: TrackingEvent) -> EventLine:
    assert event.customer_id is not None
    return EventLine(
        customer_id=event.customer_id,
        id=event.id,
        tracking_id=event.tracking_id,
        session_id=event.session_id,
        name=event.name,
        meta=event.meta,
        real_ip=event.real_ip,
        published_at=format_ms(event.published_at),
        created_at=format_ms(event.created_at),
    )


def _change_line(record: ChangeRecord) -> ChangeLine:
    kind: Literal["create", "update"] = "create"
    if record.kind == "update":
        kind = "update"
    return ChangeLine(
        customer_id=record.customer_id,
        id=record.id,
        kind=kind,
        changes=record.changes,
        published_at=format_ms(record.published_at),
        created_at=format_ms(record.created_at),
    )


def _record(line: Line, org: str) -> Exported:
    if isinstance(line, CustomerLine):
        return _customer(line, org)
    if isinstance(line, VisitorLine):
        return _visitor(line, org)
    if isinstance(line, SessionLine):
        return Session(
            org_id=org,
            tracking_id=line.tracking_id,
            session_id=line.session_id,
            id=line.id,
            customer_id=line.customer_id,
            first_event_at=_ms(line.first_event_at),
            last_event_at=_ms(line.last_event_at),
            count=line.count,
        )
    if isinstance(line, EventLine):
        return TrackingEvent(
            org_id=org,
            id=line.id,
            customer_id=line.customer_id,
            tracking_id=line.tracking_id,
            session_id=line.session_id,
            name=line.name,
            meta=line.meta,
            published_at=_ms(line.published_at),
            created_at=_ms(line.created_at),
            real_ip=line.real_ip,
        )
    return ChangeRecord(
        org_id=org,
        id=line.id,
        customer_id=line.customer_id,
        kind=line.kind,
        changes=line.changes,
        published_at=_ms(line.published_at),
        created_at=_ms(line.created_at),
    )


def _customer(line: CustomerLine, org: str) -> ExportedCustomer:
    customer = Customer(
        org_id=org,
        id=line.id,
        rev=line.rev,
        profile=line.profile,
        created_at=_ms(line.created_at),
        updated_at=_ms(line.updated_at),
        modified_at=_ms(line.modified_at),
        last_seen_at=_optional_ms(line.last_seen_at),
    )
    found = [Identifier(i.kind, i.value) for i in line.identifiers]
    return ExportedCustomer(customer, found)


def _visitor(line: VisitorLine, org: str) -> Visitor:
    return Visitor(
        org_id=org,
        tracking_id=line.tracking_id,
        identity_id=line.identity_id,
        created_at=_ms(line.created_at),
        updated_at=_ms(line.updated_at),
        customer_id=line.customer_id,
        remember=line.remember,
        bound_session_id=line.bound_session_id,
        pending=line.pending,
        conflict=line.conflict,
        email=line.email,
        status=line.status,
        status_at=_ms(line.status_at),
        session_id=line.session_id,
        session_at=_optional_ms(line.session_at),
    )


def _time(ms: int | None) -> str | None:
    return None if ms is None else format_ms(ms)


def _ms(text: str) -> int:
    return parse_datetime(text, "time")


def _optional_ms(text: str | None) -> int | None:
    return None if text is None else _ms(text)
