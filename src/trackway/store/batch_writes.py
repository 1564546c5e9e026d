"""What a batch ledger runs: its statements, built once per dialect, and
the rows it hands them.

Reads are SQLAlchemy statements with bound parameters, so executing one
costs no statement building. An IN list is one parameter: on SQLite a
JSON array that `json_each` unpacks, so each read has one text whatever
the list's length and runs prepared; elsewhere an expanding parameter.
Writes are `Bulk` statements fed with plain values.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    bindparam,
    column,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from trackway.domain.model import (
    ChangeRecord,
    Customer,
    TrackingEvent,
)
from trackway.store.bulk import Bulk
from trackway.store.jsontext import encode
from trackway.store.ledger import SqlLedger, upsert
from trackway.store.tables import customers, events, identifiers, sessions, visitors


@dataclass(frozen=True, slots=True)
class Statements:
    """The batch's statements, built once per dialect with bound parameters,
    so executing one costs no statement building."""

    visitors: Any
    stored_events: Any
    sessions: Any
    window: Any
    session: Any
    owners: Any
    customers: Any
    anonymous: tuple[Any, Any]
    insert_visitors: Bulk
    insert_identifiers: Bulk
    insert_customers: Bulk
    insert_events: Bulk
    count_sessions: Bulk
    update_visitor: Bulk
    update_customer: Bulk
    touch_customer: Bulk


_built: dict[str, Statements] = {}


def statements(connection: Connection) -> Statements:
    name = connection.dialect.name
    if name not in _built:
        _built[name] = _build(connection)
    return _built[name]


def _build(connection: Connection) -> Statements:
    dialect = connection.dialect.name
    org: BindParameter[str] = bindparam("org")
    ids = listed(dialect, "ids")
    named_visitors = (
        select(visitors)
        .where(visitors.c.org_id == org, visitors.c.tracking_id.in_(ids))
        .order_by(visitors.c.tracking_id)
    )
    named_customers = (
        select(customers)
        .where(customers.c.org_id == org, customers.c.customer_id.in_(ids))
        .order_by(customers.c.customer_id)
    )
    if dialect == "postgresql":
        named_visitors = named_visitors.with_for_update()
        named_customers = named_customers.with_for_update()
    of_visitors = select(sessions).where(
        sessions.c.org_id == org, sessions.c.tracking_id.in_(ids)
    )
    return Statements(
        visitors=named_visitors,
        stored_events=select(events.c.event_id).where(
            events.c.org_id == org, events.c.event_id.in_(ids)
        ),
        sessions=of_visitors,
        window=of_visitors.where(
            sessions.c.last_event_at >= bindparam("low"),
            sessions.c.first_event_at <= bindparam("high"),
        ).order_by(sessions.c.last_event_at),
        session=select(sessions).where(
            sessions.c.org_id == org,
            sessions.c.tracking_id == bindparam("visitor"),
            sessions.c.session_id == bindparam("session"),
        ),
        owners=select(identifiers).where(
            identifiers.c.org_id == org,
            identifiers.c.kind == bindparam("kind"),
            identifiers.c.value.in_(listed(dialect, "values")),
        ),
        customers=named_customers,
        anonymous=_anonymous_queries(org, ids),
        insert_visitors=Bulk(connection, visitors.insert()),
        insert_identifiers=Bulk(connection, identifiers.insert()),
        insert_customers=Bulk(connection, customers.insert()),
        insert_events=Bulk(connection, events.insert()),
        count_sessions=Bulk(connection, _counting_upsert(connection)),
        update_visitor=Bulk(
            connection, _keyed_update(visitors, ("org_id", "tracking_id"))
        ),
        update_customer=Bulk(
            connection,
            _keyed_update(
                customers,
                ("org_id", "customer_id"),
                ("rev", "profile", "updated_at", "modified_at", "trait_times"),
            ),
        ),
        touch_customer=Bulk(connection, _touch()),
    )


@cache
def named_sessions(pairs: int) -> Any:
    """The sessions among `pairs` (trackingId, sessionId) pairs of an org,
    bound as `t0, s0, t1, s1, ...`.

    The pairs are a subquery of VALUES: SQLite looks each of them up in the
    primary key, where a plain `(a, b) IN (VALUES ...)` makes it walk the
    org's sessions, and two IN lists would probe every visitor with every
    session. Built once per number of pairs (callers round it up).
    """
    rows = ", ".join(f"(:t{n}, :s{n})" for n in range(pairs))
    named = text(f"SELECT column1, column2 FROM (VALUES {rows}) AS named")
    pair = tuple_(sessions.c.tracking_id, sessions.c.session_id)
    return select(sessions).where(
        sessions.c.org_id == bindparam("org"),
        pair.in_(named.columns(column("column1"), column("column2"))),
    )


def listed(dialect: str, name: str) -> Any:
    """The values of the list parameter `name`, for `column.in_()`."""
    if dialect == "sqlite":
        return select(func.json_each(bindparam(name)).table_valued("value").c.value)
    return bindparam(name, expanding=True)


def list_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """`params` as SQLite's `listed` statements take them: lists as JSON."""
    return {
        name: encode(value) if isinstance(value, list) else value
        for name, value in params.items()
    }


def _anonymous_queries(org: Any, ids: Any) -> tuple[Any, Any]:
    """The visitors among `ids` with an anonymous event, or an anonymous
    session, since `since`: those whose history an identity call may
    attribute. The coalesce keeps SQLite on the visitor indexes."""
    since: BindParameter[int] = bindparam("since")
    in_events = (
        select(events.c.tracking_id)
        .distinct()
        .where(
            events.c.org_id == org,
            events.c.tracking_id.in_(ids),
            func.coalesce(events.c.customer_id, "") == "",
            events.c.published_at >= since,
        )
    )
    in_sessions = (
        select(sessions.c.tracking_id)
        .distinct()
        .where(
            sessions.c.org_id == org,
            sessions.c.tracking_id.in_(ids),
            sessions.c.customer_id.is_(None),
            sessions.c.last_event_at >= since,
        )
    )
    return in_events, in_sessions


def _counting_upsert(connection: Connection) -> Any:
    """Add held counts to stored sessions, creating the new ones."""
    statement = upsert(connection, sessions)
    stored, new = sessions.c, statement.excluded
    least, greatest = SqlLedger(connection)._least_greatest()
    return statement.on_conflict_do_update(
        index_elements=[stored.org_id, stored.tracking_id, stored.session_id],
        set_={
            "count": stored.count + new.count,
            "first_event_at": least(stored.first_event_at, new.first_event_at),
            "last_event_at": greatest(stored.last_event_at, new.last_event_at),
            "customer_id": func.coalesce(stored.customer_id, new.customer_id),
        },
    )


def _keyed_update(
    table: Any, key: tuple[str, ...], columns: tuple[str, ...] | None = None
) -> Any:
    """UPDATE of `columns` (all but the key by default) of the row whose key
    columns equal the parameters `k_<column>`."""
    wanted = columns or tuple(c.name for c in table.c if c.name not in key)
    return (
        update(table)
        .where(*(table.c[name] == bindparam(f"k_{name}") for name in key))
        .values(
            {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in wanted}
        )
    )


def _touch() -> Any:
    last_seen = customers.c.last_seen_at
    seen: BindParameter[int] = bindparam("seen")
    return (
        update(customers)
        .where(
            customers.c.org_id == bindparam("k_org_id"),
            customers.c.customer_id == bindparam("k_customer_id"),
            or_(last_seen.is_(None), last_seen < seen),
        )
        .values(last_seen_at=seen)
    )


def is_duplicate(error: IntegrityError) -> bool:
    """True when a unique key was taken (not some other constraint)."""
    cause = error.orig
    if getattr(cause, "sqlstate", None) == "23505":
        return True
    name = getattr(cause, "sqlite_errorname", "")
    return name in ("SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE")


def customer_changes(customer: Customer) -> dict[str, Any]:
    return {
        "k_org_id": customer.org_id,
        "k_customer_id": customer.id,
        "v_rev": customer.rev,
        "v_profile": customer.profile,
        "v_updated_at": customer.updated_at,
        "v_modified_at": customer.modified_at,
        "v_trait_times": customer.trait_times,
    }


# The columns of `events`, in the order of the rows below.
EVENT_COLUMNS = [c.name for c in events.c]


def event_row(event: TrackingEvent) -> tuple[Any, ...]:
    """The `events` row of a tracking event, as values in column order."""
    return (
        event.org_id,
        event.id,
        "tracking",
        event.customer_id,
        event.tracking_id,
        event.session_id,
        event.name,
        encode(event.meta),
        None,
        event.real_ip,
        event.published_at,
        event.created_at,
    )


def change_row(record: ChangeRecord) -> tuple[Any, ...]:
    """The `events` row of a change record, as values in column order."""
    return (
        record.org_id,
        record.id,
        record.kind,
        record.customer_id,
        None,
        None,
        None,
        None,
        encode(record.changes),
        None,
        record.published_at,
        record.created_at,
    )
