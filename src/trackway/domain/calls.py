"""Turning decoded request bodies into validated identity and event calls.

The HTTP layer has already checked shapes and lengths against its schemas;
these functions apply the rules of meaning (identifiers, dates, suffix
types, event names) and report every problem of a body at once.
"""

import functools
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from trackway.domain.attributes import typed_attributes
from trackway.domain.errors import Invalid, Problem
from trackway.domain.identifiers import (
    client_id_problem,
    normalise_email,
    normalise_external_id,
    normalise_phone,
)
from trackway.domain.model import (
    PRECEDENCE,
    SCALAR_FIELDS,
    EventCall,
    Identifier,
    IdentifierKind,
    IdentityCall,
    Traits,
)
from trackway.domain.policy import Policy
from trackway.domain.times import canonical_datetime, parse_date

EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]+")
MAX_EVENT_NAME = 255
MAX_TAGS = 20
# Each date field is checked on its own, so a body with two bad dates
# hears about both.
_DATE_PARSERS = {"signedUpAt": canonical_datetime, "birthdayAt": parse_date}


def identity_call(
    body: Mapping[str, Any], policy: Policy, pointer: str = ""
) -> IdentityCall:
    """Validate an identity object; raise Invalid listing every problem."""
    problems: list[Problem] = []
    identifiers = _identifiers(body, policy, pointer, problems)
    traits = _traits(body, policy, pointer, problems)
    _client_ids(body, pointer, problems)
    if problems:
        raise Invalid(*problems)
    return IdentityCall(
        tracking_id=body.get("trackingId"),
        session_id=body.get("sessionId"),
        remember=body.get("remember"),
        identifiers=identifiers,
        traits=traits,
    )


def event_call(
    body: Mapping[str, Any],
    policy: Policy,
    published_at: int,
    pointer: str = "",
    real_ip: str | None = None,
) -> EventCall:
    """Validate an event object; raise Invalid listing every problem."""
    problems: list[Problem] = []
    name = body.get("name")
    _check_event_name(name, pointer + "/name", problems)
    meta = typed_attributes(
        body.get("meta") or {},
        field="meta",
        pointer=pointer + "/meta",
        strict=policy.strict_attributes,
        problems=problems,
    )
    _client_ids(body, pointer, problems)
    if problems:
        raise Invalid(*problems)
    assert isinstance(name, str)
    return EventCall(
        name=name,
        tracking_id=body.get("trackingId"),
        session_id=body.get("sessionId"),
        meta=meta,
        published_at=published_at,
        real_ip=real_ip,
    )


def combined_call(
    identity: IdentityCall, event: EventCall
) -> tuple[IdentityCall, EventCall]:
    """An identity and an event sent together speak for one visitor.

    Ids given on one side only are used on both; ids given on both sides
    must agree, or the event would land away from the identified customer.
    """
    problems = []
    for field, mine, theirs in (
        ("trackingId", identity.tracking_id, event.tracking_id),
        ("sessionId", identity.session_id, event.session_id),
    ):
        if mine is not None and theirs is not None and mine != theirs:
            detail = f"event.{field} must equal identity.{field} or be left out"
            problems.append(Problem(detail, f"/event/{field}"))
    if problems:
        raise Invalid(*problems)
    tracking_id = identity.tracking_id or event.tracking_id
    session_id = identity.session_id or event.session_id
    return (
        replace(identity, tracking_id=tracking_id, session_id=session_id),
        replace(event, tracking_id=tracking_id, session_id=session_id),
    )


def _check_event_name(name: Any, pointer: str, problems: list[Problem]) -> None:
    detail = None
    if not isinstance(name, str):
        detail = "event.name is required and must be a string"
    elif len(name) > MAX_EVENT_NAME:
        detail = f"event.name must be at most {MAX_EVENT_NAME} characters"
    elif not name[:1].isascii() or not name[:1].isalpha():
        detail = "event.name must start with a letter"
    elif len(name) < 2:
        detail = "event.name must be at least 2 characters"
    elif not EVENT_NAME.fullmatch(name):
        detail = "event.name may hold only letters, digits, '_', '.' and '-'"
    if detail:
        problems.append(Problem(detail, pointer))


def _client_ids(body: Mapping[str, Any], pointer: str, problems: list[Problem]) -> None:
    for field in ("trackingId", "sessionId"):
        value = body.get(field)
        if value is None:
            continue
        if (problem := client_id_problem(value, field)) is not None:
            problems.append(Problem(problem, f"{pointer}/{field}"))


def _identifiers(
    body: Mapping[str, Any], policy: Policy, pointer: str, problems: list[Problem]
) -> list[Identifier]:
    found = []
    for kind in PRECEDENCE:
        value = body.get(kind.value)
        if value is None:
            continue
        where = f"{pointer}/{kind.value}"
        try:
            found.append(Identifier(kind, _normalise(kind, value, policy, where)))
        except Invalid as error:
            problems.extend(error.problems)
    return found


def _normalise(kind: IdentifierKind, value: Any, policy: Policy, where: str) -> str:
    if not isinstance(value, str):
        raise Invalid(Problem(f"{kind.value} must be a string", where))
    if kind is IdentifierKind.EMAIL:
        return normalise_email(value, where)
    if kind is IdentifierKind.PHONE:
        return normalise_phone(value, policy.default_phone_region, where)
    return normalise_external_id(value, where)


def _traits(
    body: Mapping[str, Any], policy: Policy, pointer: str, problems: list[Problem]
) -> Traits:
    fields: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        if body.get(name) is not None:
            fields[name] = body[name]
    _dates(fields, pointer, problems)
    _time_zone(fields, pointer, problems)
    # A location with no field given says nothing, so it adds no entry.
    if body.get("location"):
        fields["locations"] = [dict(body["location"])]
    tags = body.get("tags")
    if tags is not None:
        fields["tags"] = _tags(tags, pointer, problems)
    custom = body.get("custom")
    if custom is not None:
        fields["custom"] = typed_attributes(
            custom,
            field="custom",
            pointer=pointer + "/custom",
            strict=policy.strict_attributes,
            problems=problems,
        )
    return Traits(fields)


def _dates(fields: dict[str, Any], pointer: str, problems: list[Problem]) -> None:
    for name, parse in _DATE_PARSERS.items():
        if name not in fields:
            continue
        try:
            fields[name] = parse(fields[name], name, f"{pointer}/{name}")
        except Invalid as error:
            problems.extend(error.problems)


def _time_zone(fields: dict[str, Any], pointer: str, problems: list[Problem]) -> None:
    zone = fields.get("timeZone")
    if zone is not None and zone not in time_zones():
        detail = "timeZone must be an IANA time zone name such as Europe/Paris"
        problems.append(Problem(detail, pointer + "/timeZone"))


@functools.cache
def time_zones() -> frozenset[str]:
    """IANA zone names, from the tzdata package when the OS has none."""
    return frozenset(zoneinfo.available_timezones())


def _tags(tags: Any, pointer: str, problems: list[Problem]) -> list[str]:
    unique = list(dict.fromkeys(tags))
    if len(unique) > MAX_TAGS:
        problems.append(
            Problem(f"tags holds more than {MAX_TAGS} tags", pointer + "/tags")
        )
    return unique
