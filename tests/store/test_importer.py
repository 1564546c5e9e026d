"""The import write path: rows with their own times, in batches.

Rows are built with the domain's own validators, stored with
`import_rows`, and read back from the tables.
"""

from collections.abc import Iterable
from typing import Any

import pytest
from sqlalchemy import Connection, Row, Table, select

from trackway.domain.calls import event_call, identity_call
from trackway.domain.ids import is_id
from trackway.domain.policy import Policy
from trackway.domain.resolution import RaceLost, resolve
from trackway.domain.tracking import record_event
from trackway.store import importer
from trackway.store.accounts import create_org
from trackway.store.batch_ledger import Expected, Known
from trackway.store.database import Database
from trackway.store.importer import BatchLedger, ImportRow, import_rows
from trackway.store.ledger import SqlLedger
from trackway.store.tables import customers, events, identifiers, sessions, visitors

POLICY = Policy()
WRITTEN_AT = 1_796_292_000_000  # 2026-12-03T10:00:00.000Z
T0 = 1_710_000_000_000  # 2024-03-09T16:00:00.000Z
MINUTE = 60_000
HOUR = 60 * MINUTE


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every row is written at WRITTEN_AT."""
    monkeypatch.setattr(importer, "now_ms", lambda: WRITTEN_AT)


def row(
    name: str,
    at: int,
    user: str | None = None,
    tracking: str | None = None,
    session: str | None = None,
    line: int = 2,
    **meta: Any,
) -> ImportRow:
    """A row as the file reader makes it: the visitor is the user unless
    a tracking id is given."""
    ids = {"trackingId": tracking or user, "sessionId": session}
    event = event_call({"name": name, "meta": meta, **ids}, POLICY, at)
    identity = None
    if user is not None:
        identity = identity_call({"externalId": user, **ids}, POLICY)
    return ImportRow(line, event, identity)


def table(database: Database, source: Table, **equal: Any) -> list[Row[Any]]:
    conditions = [source.c[name] == value for name, value in equal.items()]
    query = select(source).where(*conditions).order_by(*source.primary_key)
    with database.read() as connection:
        return list(connection.execute(query))


def customer_of(database: Database, external_id: str) -> str:
    found = [
        r.customer_id
        for r in table(database, customers)
        if r.profile.get("externalId") == external_id
    ]
    assert len(found) == 1
    return str(found[0])


def tracking_events(database: Database) -> list[Row[Any]]:
    found = table(database, events, kind="tracking")
    return sorted(found, key=lambda r: (r.published_at, r.event_id))


def test_each_user_is_identified_before_its_first_event(
    database: Database, org_id: str
) -> None:
    rows = [row("home", T0, "u1"), row("cart", T0 + MINUTE, "u1")]

    totals = import_rows(database, org_id, rows, POLICY)

    assert totals.customers_created == 1
    owner = customer_of(database, "u1")
    assert [e.customer_id for e in tracking_events(database)] == [owner, owner]
    changes = [e.kind for e in table(database, events) if e.kind != "tracking"]
    assert changes == ["create"]


def test_a_customer_made_by_an_import_dates_from_its_first_event_but_is_written_now(
    database: Database, org_id: str
) -> None:
    rows = [row("home", T0, "u1"), row("cart", T0 + HOUR, "u1")]

    import_rows(database, org_id, rows, POLICY)

    (stored,) = table(database, customers)
    assert (stored.created_at, stored.last_seen_at) == (T0, T0 + HOUR)
    (created,) = table(database, events, kind="create")
    assert (created.published_at, created.created_at) == (T0, WRITTEN_AT)


def test_events_keep_their_own_time_and_are_created_at_the_time_of_writing(
    database: Database, org_id: str
) -> None:
    rows = [row("home", T0 + HOUR, "u1"), row("cart", T0, "u1")]

    import_rows(database, org_id, rows, POLICY)

    stored = tracking_events(database)
    assert [(e.name, e.published_at) for e in stored] == [
        ("cart", T0),
        ("home", T0 + HOUR),
    ]
    assert {e.created_at for e in stored} == {WRITTEN_AT}


def test_identical_rows_are_stored_as_separate_events(
    database: Database, org_id: str
) -> None:
    twin = row("add_to_cart", T0, "u1", session="s1", platformStr="web")

    totals = import_rows(database, org_id, [twin, twin], POLICY)

    assert totals.events == 2
    stored = tracking_events(database)
    assert len({e.event_id for e in stored}) == 2
    (session,) = table(database, sessions)
    assert session._mapping["count"] == 2


def test_rows_without_a_session_are_split_by_the_gap_in_event_time(
    database: Database, org_id: str
) -> None:
    times = [T0, T0 + 10 * MINUTE, T0 + 50 * MINUTE, T0 + 55 * MINUTE]
    rows = [row("view", at, "u1") for at in times]

    import_rows(database, org_id, rows, POLICY, batch_size=1)

    stored = table(database, sessions)
    spans = sorted(
        (s.first_event_at, s.last_event_at, s._mapping["count"]) for s in stored
    )
    assert spans == [(T0, T0 + 10 * MINUTE, 2), (T0 + 50 * MINUTE, T0 + 55 * MINUTE, 2)]


def test_anonymous_rows_of_a_visitor_go_to_the_user_it_is_identified_as(
    database: Database, org_id: str
) -> None:
    rows = [
        row("home", T0, tracking="v1"),
        row("login", T0 + MINUTE, "u1", tracking="v1"),
        row("cart", T0 + 2 * MINUTE, tracking="v1"),
    ]

    import_rows(database, org_id, rows, POLICY)

    owner = customer_of(database, "u1")
    assert [e.customer_id for e in tracking_events(database)] == [owner] * 3


def test_a_visitor_shared_by_two_users_is_rebound_to_the_later_one(
    database: Database, org_id: str
) -> None:
    rows = [
        row("home", T0, "u1", tracking="kiosk"),
        row("home", T0 + 2 * HOUR, "u2", tracking="kiosk"),
        row("cart", T0 + 3 * HOUR, tracking="kiosk"),
    ]

    totals = import_rows(database, org_id, rows, POLICY)

    assert totals.customers_created == 2
    first, second = customer_of(database, "u1"), customer_of(database, "u2")
    owners = [e.customer_id for e in tracking_events(database)]
    assert owners == [first, second, second]


def test_each_batch_is_one_transaction_and_earlier_batches_stay_stored(
    database: Database, org_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: list[int] = []

    def fail_on_fourth(*args: Any) -> Any:
        recorded.append(1)
        if len(recorded) == 4:
            raise RuntimeError("disk full")
        return record_event(*args)

    monkeypatch.setattr(importer, "record_event", fail_on_fourth)
    rows = [row("view", T0 + i * MINUTE, "u1") for i in range(5)]
    batches: list[int] = []

    with pytest.raises(RuntimeError):
        import_rows(database, org_id, rows, POLICY, 2, batches.append)

    assert batches == [2]
    assert len(tracking_events(database)) == 2


def test_batches_report_their_sizes_as_they_commit(
    database: Database, org_id: str
) -> None:
    rows = [row("view", T0 + i * MINUTE, "u1") for i in range(5)]
    batches: list[int] = []

    totals = import_rows(database, org_id, rows, POLICY, 2, batches.append)

    assert batches == [2, 2, 1]
    assert totals.events == 5


def test_a_batch_that_loses_a_race_is_written_again_whole(
    database: Database, org_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def lose_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RaceLost("a concurrent writer won")
        return resolve(*args, **kwargs)

    monkeypatch.setattr(importer, "resolve", lose_once)
    rows = [row("home", T0, "u1"), row("cart", T0 + MINUTE, "u1")]

    totals = import_rows(database, org_id, rows, POLICY)

    assert (totals.events, totals.customers_created) == (2, 1)
    owner = customer_of(database, "u1")
    assert [e.customer_id for e in tracking_events(database)] == [owner, owner]


def test_a_key_stored_meanwhile_by_another_writer_makes_the_batch_run_again(
    database: Database, org_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's new identifier, stored first by a concurrent writer,
    fails the batch's insert; the batch is written again whole."""
    real = BatchLedger._flush_inserts
    flushes: list[int] = []

    def taken_first(ledger: BatchLedger) -> None:
        flushes.append(1)
        if len(flushes) == 1:
            taken = {"kind": "externalId", "value": "u1", "customer_id": "0" * 24}
            ledger.connection.execute(identifiers.insert(), {"org_id": org_id, **taken})
        real(ledger)

    monkeypatch.setattr(BatchLedger, "_flush_inserts", taken_first)
    rows = [row("home", T0, "u1"), row("cart", T0 + MINUTE, "u1")]

    totals = import_rows(database, org_id, rows, POLICY)

    assert len(flushes) == 2
    assert (totals.events, totals.customers_created) == (2, 1)
    owner = customer_of(database, "u1")
    assert [e.customer_id for e in tracking_events(database)] == [owner, owner]


def test_a_batch_size_below_one_is_refused(database: Database, org_id: str) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        import_rows(database, org_id, [], POLICY, batch_size=0)


def mixed_rows() -> list[ImportRow]:
    """Anonymous history, a late identity, a shared device, a duplicate,
    an event out of time order, client and gap sessions."""
    return [
        row("home", T0, tracking="v1"),
        row("search", T0 + 5 * MINUTE, tracking="v1", queryStr="tv"),
        row("login", T0 + 6 * MINUTE, "alice", tracking="v1"),
        row("cart", T0 + 10 * MINUTE, tracking="v1"),
        row("home", T0 + MINUTE, "bob", session="b-1"),
        row("home", T0 + MINUTE, "bob", session="b-1"),
        row("product", T0 + 3 * HOUR, "carol", tracking="v1"),
        row("late", T0 + 2 * HOUR + 50 * MINUTE, "carol", tracking="v1"),
        row("home", T0 + 24 * HOUR, "alice", tracking="v3"),
        row("cart", T0 + 5 * HOUR, tracking="v1", session="c-2"),
        row("home", T0 + 2 * MINUTE, "bob", session="b-2"),
        row("home", T0 + 40 * MINUTE, "bob"),
        row("home", T0, "dan", tracking="till", session="k"),
        row("pay", T0 + MINUTE, "erin", tracking="till", session="k"),
        row("home", T0, "gus"),
        row("home", T0 + 2 * HOUR, "gus"),
        row("back", T0 + 10 * MINUTE, "gus"),
        row("last", T0 + 3 * HOUR, "hal"),
        row("first", T0 + HOUR, "hal"),
    ]


def snapshot(database: Database) -> dict[str, list[Any]]:
    """What the tables hold, with server-made ids replaced by what they
    name, so two imports of the same rows compare equal."""
    people = {
        r.customer_id: r.profile.get("externalId") for r in table(database, customers)
    }
    spans = {
        (s.tracking_id, s.session_id): s.first_event_at
        for s in table(database, sessions)
    }

    def session(tracking_id: str | None, session_id: str | None) -> Any:
        if session_id is None or not is_id(session_id):
            return session_id
        return ("gap", spans.get((tracking_id or "", session_id)))

    return {
        "customers": in_order(
            (r.profile, r.rev, r.created_at, r.updated_at, r.last_seen_at)
            for r in table(database, customers)
        ),
        "sessions": in_order(
            (
                s.tracking_id,
                session(s.tracking_id, s.session_id),
                people.get(s.customer_id),
                s.first_event_at,
                s.last_event_at,
                s._mapping["count"],
            )
            for s in table(database, sessions)
        ),
        "events": in_order(
            (
                e.kind,
                e.name,
                e.tracking_id,
                session(e.tracking_id, e.session_id),
                people.get(e.customer_id),
                e.published_at,
                e.created_at,
                str(e.meta),
                str(e.changes),
            )
            for e in table(database, events)
        ),
        "visitors": in_order(
            (
                v.tracking_id,
                people.get(v.customer_id),
                v.status,
                v.status_at,
                session(v.tracking_id, v.session_id),
                v.session_at,
                v.remember,
                v.created_at,
                v.updated_at,
                str(v.pending),
                str(v.conflict),
            )
            for v in table(database, visitors)
        ),
    }


def in_order(items: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(items, key=repr)


def fresh(url: str) -> tuple[Database, str]:
    database = Database(url)
    return database, create_org(database, "acme")


class _UnbufferedLedger(SqlLedger):
    """The plain ledger, each write made when the rules ask for it."""

    def __init__(self, connection: Connection, known: Known | None = None) -> None:
        super().__init__(connection)

    def known(self) -> Known:
        return Known()

    def prepare(self, org_id: str, expected: Expected, gap: int) -> None:
        pass

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("batch_size", [1, 2, 5, 1000])
def test_holding_writes_until_the_batch_ends_stores_what_the_plain_ledger_would(
    database_url: str,
    second_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    batch_size: int,
) -> None:
    held, held_org = fresh(database_url)
    plain, plain_org = fresh(second_database_url)

    import_rows(held, held_org, mixed_rows(), POLICY, batch_size)
    with monkeypatch.context() as patch:
        patch.setattr(importer, "BatchLedger", _UnbufferedLedger)
        import_rows(plain, plain_org, mixed_rows(), POLICY, batch_size)

    expected, actual = snapshot(plain), snapshot(held)
    held.dispose()
    plain.dispose()
    assert expected == actual
    customers_made = 7
    assert len(actual["events"]) == len(mixed_rows()) + customers_made


@pytest.mark.parametrize("writer", ["same database", "another database"])
def test_a_write_between_batches_is_seen_by_the_next_batch(
    database: Database, org_id: str, database_url: str, writer: str
) -> None:
    """A batch starts from what the one before knew only when nothing else
    was written in between, on the import's connection or another."""
    other = database if writer == "same database" else Database(database_url)
    tab = {"name": "tab", "trackingId": "v1", "sessionId": "s2"}

    def meanwhile(rows: int) -> None:
        if len(tracking_events(database)) == 1:
            with other.write() as connection:
                call = event_call(tab, POLICY, T0 + MINUTE)
                record_event(SqlLedger(connection), org_id, call, T0, POLICY)

    rows = [row("home", T0, tracking="v1"), row("cart", T0 + 2 * MINUTE, tracking="v1")]
    try:
        import_rows(database, org_id, rows, POLICY, 1, meanwhile)
    finally:
        if other is not database:
            other.dispose()

    # The cart event joins the latest session around it, which only the
    # write between the batches tells of.
    sessions_of = {e.name: e.session_id for e in tracking_events(database)}
    assert sessions_of == {"home": sessions_of["home"], "tab": "s2", "cart": "s2"}


def test_the_batch_ledger_answers_reads_as_if_its_writes_were_made(
    database: Database, org_id: str
) -> None:
    identity = identity_call({"externalId": "u1", "trackingId": "v1"}, POLICY)
    anonymous = event_call({"name": "home", "trackingId": "v2"}, POLICY, T0)

    with database.write() as connection:
        ledger = BatchLedger(connection)
        owner = resolve(ledger, org_id, identity, T0, POLICY).customer_id
        assert owner is not None
        ledger.touch_customer(org_id, owner, T0 + HOUR)
        seen = ledger.customer(org_id, owner)
        recorded = record_event(ledger, org_id, anonymous, T0, POLICY)
        ledger.attribute_anonymous(org_id, "v2", owner, 0)
        session = ledger.session(org_id, "v2", recorded.session_id)
        ledger.flush()

    assert seen is not None and seen.last_seen_at == T0 + HOUR
    assert session is not None and session.customer_id == owner
