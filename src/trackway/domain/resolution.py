"""Identity resolution (SPEC 5): from one identity call to one customer.

Identifiers are claimed row by row under a unique key per (org, kind,
value). When two calls race to create a customer for the same new email,
one claim wins; the loser releases what it claimed and starts over, finding
the winner's customer. Nothing here merges two customers.
"""

from dataclasses import dataclass, field

from trackway.domain.ids import new_id
from trackway.domain.model import (
    PRECEDENCE,
    ChangeRecord,
    Customer,
    Identifier,
    IdentifierKind,
    IdentityCall,
    Traits,
    Visitor,
)
from trackway.domain.policy import Policy
from trackway.domain.ports import Ledger
from trackway.domain.profile import apply_traits, diff, has_room, merge_traits
from trackway.domain.sessions import remember_session, session_for
from trackway.domain.trait_times import split_stale, stamp, unapplied

MAX_ATTEMPTS = 8
_LISTS = {IdentifierKind.EMAIL: "emails", IdentifierKind.PHONE: "phones"}


class RaceLost(Exception):
    """A concurrent transaction kept winning; the caller may retry whole."""


@dataclass(slots=True)
class Resolution:
    visitor: Visitor
    session_id: str
    customer_id: str | None
    status: str  # "created", "updated" or "anonymous"
    conflicts: list[dict[str, str | None]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class When:
    """The call's own time (`at`) and when its records are written.

    The same moment for a live call; an import identifies people at the
    time of their events, long before it writes them. With `keep_newer`,
    `at` is the client's time, and traits given later than it are kept.
    """

    at: int
    written: int
    keep_newer: bool = False


@dataclass(slots=True)
class _Match:
    customer_id: str
    status: str
    email: str | None
    conflicts: list[dict[str, str | None]]


def resolve(
    ledger: Ledger,
    org_id: str,
    call: IdentityCall,
    now: int,
    policy: Policy,
    written_at: int | None = None,
) -> Resolution:
    """Find or create the customer of `call` and bind the visitor to it.

    `now` is the call's time; `written_at` (default `now`) stamps the
    `createdAt` of the change records it writes.
    """
    written = now if written_at is None else written_at
    when = When(now, written, call.keep_newer_traits)
    visitor = open_visitor(ledger, org_id, call.tracking_id, now)
    session_id = session_for(ledger, visitor, call.session_id, now, policy)
    remember_session(visitor, session_id, now)
    previous = visitor.bound_customer(session_id)
    match = _match(ledger, org_id, call, visitor, session_id, when)
    if match is None:
        visitor.pending = merge_traits(visitor.pending, call.traits).fields
        _set_status(visitor, "anonymous", None, now)
        ledger.update_visitor(visitor)
        return Resolution(visitor, session_id, None, "anonymous")
    if call.session_id is None and previous not in (None, match.customer_id):
        # A shared device changing hands: the first customer's session ends.
        session_id = new_id(now / 1000)
        remember_session(visitor, session_id, now)
    _bind(ledger, visitor, match.customer_id, call.remember, session_id, now, policy)
    _set_status(visitor, match.status, match.email, now)
    visitor.conflict = (
        {"at": now, "owners": match.conflicts} if match.conflicts else None
    )
    ledger.update_visitor(visitor)
    return Resolution(
        visitor, session_id, match.customer_id, match.status, match.conflicts
    )


def open_visitor(
    ledger: Ledger, org_id: str, tracking_id: str | None, now: int
) -> Visitor:
    """The visitor of `tracking_id`, created when new (a made-up id if None)."""
    tracking_id = tracking_id or new_id(now / 1000)
    for _ in range(MAX_ATTEMPTS):
        visitor = ledger.visitor(org_id, tracking_id)
        if visitor is not None:
            return visitor
        visitor = Visitor(
            org_id=org_id,
            tracking_id=tracking_id,
            identity_id=new_id(now / 1000),
            created_at=now,
            updated_at=now,
            status_at=now,
        )
        if ledger.insert_visitor(visitor):
            return visitor
    raise RaceLost(f"visitor {tracking_id!r} kept changing")


def _match(
    ledger: Ledger,
    org_id: str,
    call: IdentityCall,
    visitor: Visitor,
    session_id: str,
    when: When,
) -> _Match | None:
    if not call.identifiers:
        bound = visitor.bound_customer(session_id)
        customer = None if bound is None else ledger.customer(org_id, bound)
        if customer is None:
            return None
        _update(ledger, customer, merge_traits(visitor.pending, call.traits), [], when)
        return _Match(customer.id, "updated", visitor.email, [])
    for _ in range(MAX_ATTEMPTS):
        found = _find_or_create(ledger, org_id, call, visitor, when)
        if found is not None:
            return found
    raise RaceLost("identifiers kept changing owner")


def _find_or_create(
    ledger: Ledger, org_id: str, call: IdentityCall, visitor: Visitor, when: When
) -> _Match | None:
    """One attempt; None when a concurrent call won a race and we must retry."""
    owners = ledger.owners(org_id, call.identifiers)
    traits = merge_traits(visitor.pending, call.traits)
    if not owners:
        return _create(ledger, org_id, call.identifiers, traits, when)
    chosen = next(owners[i] for i in _by_precedence(call.identifiers) if i in owners)
    customer = ledger.customer(org_id, chosen)
    if customer is None:
        return None  # erased meanwhile
    conflicts = [
        _conflict(i, "belongs to another customer", owner)
        for i, owner in owners.items()
        if owner != chosen
    ]
    unowned = [i for i in call.identifiers if i not in owners]
    claimed = _claim_for(ledger, customer, unowned, conflicts)
    _update(ledger, customer, traits, claimed, when)
    return _Match(
        chosen, "updated", _email_of(call, owners, claimed, chosen), conflicts
    )


def _create(
    ledger: Ledger,
    org_id: str,
    identifiers: list[Identifier],
    traits: Traits,
    when: When,
) -> _Match | None:
    now = when.at
    customer_id = new_id(now / 1000)
    claimed: list[Identifier] = []
    for identifier in _by_precedence(identifiers):
        if not ledger.claim(org_id, identifier, customer_id):
            for done in claimed:
                ledger.release(org_id, done, customer_id)
            return None
        claimed.append(identifier)
    profile = apply_traits({}, _with_identifiers(traits, claimed))
    customer = Customer(org_id, customer_id, 1, profile, now, now, now)
    customer.trait_times = stamp({}, traits, now)
    ledger.insert_customer(customer)
    ledger.insert_change(_record(customer, "create", None, when))
    email = _first(claimed, IdentifierKind.EMAIL)
    return _Match(customer_id, "created", email, [])


def _claim_for(
    ledger: Ledger,
    customer: Customer,
    unowned: list[Identifier],
    conflicts: list[dict[str, str | None]],
) -> list[Identifier]:
    """Claim the call's free identifiers that the customer can take.

    A different externalId is a conflict, never a second one; a full email
    or phone list takes no more.
    """
    claimed = []
    for identifier in unowned:
        refusal = _refusal(customer, identifier)
        if refusal is None and ledger.claim(customer.org_id, identifier, customer.id):
            claimed.append(identifier)
        else:
            reason = refusal or "was claimed by a concurrent call"
            conflicts.append(_conflict(identifier, reason, None))
    return claimed


def _refusal(customer: Customer, identifier: Identifier) -> str | None:
    if identifier.kind is IdentifierKind.EXTERNAL_ID:
        if customer.profile.get("externalId") is not None:
            return "the customer has another externalId"
        return None
    if not has_room(customer.profile, _LISTS[identifier.kind]):
        return f"the customer's {_LISTS[identifier.kind]} list is full"
    return None


def _conflict(
    identifier: Identifier, reason: str, owner: str | None
) -> dict[str, str | None]:
    """What the identity record keeps of a conflict: never the value."""
    return {"kind": identifier.kind.value, "reason": reason, "customerId": owner}


def _update(
    ledger: Ledger,
    customer: Customer,
    traits: Traits,
    claimed: list[Identifier],
    when: When,
) -> None:
    times = customer.trait_times
    stale = Traits()
    if when.keep_newer:
        traits, stale = split_stale(traits, times, when.at)
    after = apply_traits(customer.profile, _with_identifiers(traits, claimed))
    changes = diff(customer.profile, after)
    skipped = unapplied(customer.profile, stale)
    customer.trait_times = stamp(times, traits, when.at)
    if changes:
        customer.profile = after
        customer.rev += 1
        customer.updated_at = customer.modified_at = when.at
    if changes or customer.trait_times != times:
        ledger.update_customer(customer)
    if changes or skipped:
        record = _record(customer, "update", {"attributes": changes | skipped}, when)
        ledger.insert_change(record)


def _bind(
    ledger: Ledger,
    visitor: Visitor,
    customer_id: str,
    remember: bool | None,
    session_id: str,
    now: int,
    policy: Policy,
) -> None:
    if remember is None:
        # Not given: a kiosk binding stays one for the same customer.
        same = visitor.customer_id == customer_id
        remember = visitor.remember if same else True
    # A visitor that stays bound to this customer has had no anonymous
    # events since its binding, which attributed the earlier ones.
    if not (visitor.remember and visitor.customer_id == customer_id):
        since = now - policy.anonymous_retention_ms
        org_id, tracking_id = visitor.org_id, visitor.tracking_id
        ledger.attribute_anonymous(org_id, tracking_id, customer_id, since)
    visitor.customer_id = customer_id
    visitor.remember = remember
    visitor.bound_session_id = None if remember else session_id
    visitor.pending = None


def _set_status(visitor: Visitor, status: str, email: str | None, now: int) -> None:
    visitor.status = status
    visitor.status_at = now
    visitor.updated_at = now
    visitor.email = email


def _with_identifiers(traits: Traits, claimed: list[Identifier]) -> Traits:
    fields = dict(traits.fields)
    for identifier in claimed:
        if identifier.kind is IdentifierKind.EXTERNAL_ID:
            fields["externalId"] = identifier.value
        else:
            name = _LISTS[identifier.kind]
            fields[name] = [*fields.get(name, []), identifier.value]
    return Traits(fields)


def _by_precedence(identifiers: list[Identifier]) -> list[Identifier]:
    return sorted(identifiers, key=lambda i: PRECEDENCE.index(i.kind))


def _first(identifiers: list[Identifier], kind: IdentifierKind) -> str | None:
    return next((i.value for i in identifiers if i.kind is kind), None)


def _email_of(
    call: IdentityCall,
    owners: dict[Identifier, str],
    claimed: list[Identifier],
    chosen: str,
) -> str | None:
    """The call's email when it now belongs to the chosen customer."""
    for identifier in call.identifiers:
        if identifier.kind is not IdentifierKind.EMAIL:
            continue
        if owners.get(identifier) == chosen or identifier in claimed:
            return identifier.value
    return None


def _record(
    customer: Customer, kind: str, changes: dict[str, object] | None, when: When
) -> ChangeRecord:
    return ChangeRecord(
        org_id=customer.org_id,
        id=new_id(when.at / 1000),
        customer_id=customer.id,
        kind=kind,
        changes=changes,
        published_at=when.at,
        created_at=when.written,
    )
