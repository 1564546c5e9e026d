"""Export and restore at the storage layer, on rows written directly.

The streams run through server-side cursors, which differ per backend;
the restore's upserts too. Rows are made with tests/factories.py.
"""

from decimal import Decimal

import pytest

from factories import (
    MINUTE,
    ORG,
    OTHER_ORG,
    T0,
    add_change,
    add_customer,
    add_event,
    add_session,
    add_visitor,
)
from trackway import exports
from trackway.domain.model import (
    Customer,
    Identifier,
    IdentifierKind,
    TrackingEvent,
)
from trackway.store import reads
from trackway.store.database import Database
from trackway.store.erasure import erase_customer
from trackway.store.exporter import (
    Exported,
    ExportedCustomer,
    Selection,
    count_customers,
    export_customers,
)
from trackway.store.restorer import restore


def customer_with_history(database: Database, name: str, at: int) -> Customer:
    profile = {
        "externalId": name,
        "emails": [{"type": "home", "email": f"{name}@example.com", "verified": False}],
        "custom": {"scoreNum": Decimal("0.10")},
    }
    customer = add_customer(database, profile=profile, at=at)
    add_change(database, customer.id, kind="create", published_at=at)
    add_visitor(database, f"{name}-laptop", customer_id=customer.id, at=at)
    for n in range(3):
        when = at + n * MINUTE
        add_session(
            database, customer.id, tracking_id=f"{name}-laptop",
            session_id=f"{name}-s{n}", first_event_at=when, count=2,
        )  # fmt: skip
        for k in range(2):
            add_event(
                database, customer.id, tracking_id=f"{name}-laptop",
                session_id=f"{name}-s{n}", published_at=when + k,
                meta={"stepNum": k},
            )  # fmt: skip
    return customer


def everything(database: Database, org_id: str = ORG) -> list[Exported]:
    return list(export_customers(database, org_id))


def test_each_customer_is_followed_by_its_own_records(database: Database) -> None:
    ana = customer_with_history(database, "ana", T0)
    bob = customer_with_history(database, "bob", T0 + MINUTE)
    add_event(database, None, tracking_id="stranger")  # anonymous: not exported

    found = everything(database)

    owners = [_owner(r) for r in found]
    assert sorted([ana.id] * 12 + [bob.id] * 12) == owners
    assert [ana.id, bob.id] == [
        r.customer.id for r in found if isinstance(r, ExportedCustomer)
    ]
    times = [r.published_at for r in found if isinstance(r, TrackingEvent)]
    assert times[:6] == sorted(times[:6])


def test_another_orgs_customers_are_not_exported(database: Database) -> None:
    customer_with_history(database, "ana", T0)
    add_customer(database, OTHER_ORG, {"externalId": "zed"})

    found = everything(database)

    assert {ORG} == {_org(r) for r in found}


def test_export_erase_restore_gives_back_the_same_records(database: Database) -> None:
    ana = customer_with_history(database, "ana", T0)
    bob = customer_with_history(database, "bob", T0 + MINUTE)
    before = everything(database)
    erase_customer(database, ORG, ana.id)
    erase_customer(database, ORG, bob.id)

    totals = restore(database, ORG, before, batch_size=5)

    assert before == everything(database)
    assert (totals.customers, totals.events) == (2, 14)
    found = reads.customer(database, ORG, ana.id)
    assert found is not None
    assert Decimal("0.10") == found.profile["custom"]["scoreNum"]


def test_records_go_through_the_file_format_unchanged(database: Database) -> None:
    customer_with_history(database, "ana", T0)
    before = everything(database)

    lines = [exports.encode(record) for record in before]

    assert before == [exports.decode(line, ORG) for line in lines]


def test_a_second_restore_stores_nothing(database: Database) -> None:
    customer_with_history(database, "ana", T0)
    before = everything(database)

    totals = restore(database, ORG, before)

    assert (totals.customers, totals.events) == (0, 0)
    assert totals.present == 1 + 1 + 7
    assert before == everything(database)


def test_a_restored_customer_replaces_only_an_older_one(database: Database) -> None:
    ana = customer_with_history(database, "ana", T0)
    [record] = [r for r in everything(database) if isinstance(r, ExportedCustomer)]
    newer = Customer(**{**_fields(ana), "rev": 5, "profile": {"name": "new"}})
    older = Customer(**{**_fields(ana), "rev": 0, "profile": {"name": "old"}})

    restore(database, ORG, [ExportedCustomer(newer, record.identifiers)])
    restore(database, ORG, [ExportedCustomer(older, record.identifiers)])

    found = reads.customer(database, ORG, ana.id)
    assert found is not None
    assert (found.rev, found.profile) == (5, {"name": "new"})


def test_an_identifier_owned_by_another_customer_stays_with_it(
    database: Database,
) -> None:
    ana = customer_with_history(database, "ana", T0)
    before = everything(database)
    erase_customer(database, ORG, ana.id)
    other = add_customer(database, profile={"externalId": "ana"})

    totals = restore(database, ORG, before)

    assert totals.taken == 1
    taken = Identifier(IdentifierKind.EXTERNAL_ID, "ana")
    owner = reads.customer_by_identifier(database, ORG, taken)
    assert owner is not None
    assert other.id == owner.id


def test_selection_keeps_one_customer_or_what_was_written_since(
    database: Database,
) -> None:
    ana = customer_with_history(database, "ana", T0)
    bob = customer_with_history(database, "bob", T0 + 10 * MINUTE)
    late = add_event(
        database, ana.id, tracking_id="ana-laptop", session_id="ana-s0",
        published_at=T0 + 20 * MINUTE,
    )  # fmt: skip

    only_bob = list(export_customers(database, ORG, Selection(bob.id)))
    since = list(export_customers(database, ORG, Selection(since=late.created_at)))

    assert {bob.id} == {_owner(r) for r in only_bob}
    events = [r for r in since if isinstance(r, TrackingEvent)]
    assert [late] == events
    assert count_customers(database, ORG, Selection(since=late.created_at)) == 1


def _owner(record: Exported) -> str | None:
    if isinstance(record, ExportedCustomer):
        return record.customer.id
    return record.customer_id


def _org(record: Exported) -> str:
    if isinstance(record, ExportedCustomer):
        return record.customer.org_id
    return record.org_id


def _fields(customer: Customer) -> dict[str, object]:
    return {
        name: getattr(customer, name)
        for name in (
            "org_id", "id", "rev", "profile", "created_at", "updated_at",
            "modified_at", "last_seen_at",
        )
    }  # fmt: skip


def test_a_line_with_a_number_beyond_any_decimal_is_a_format_error() -> None:
    line = b'{"type": "event", "meta": {"aNum": 1e9999999999999999999}}'

    with pytest.raises(exports.FormatError, match="exponent is out of range"):
        exports.decode(line, "org")
