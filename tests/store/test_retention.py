"""Anonymous history past its retention is forgotten; customers' never is.

Calls go through the real write path at chosen moments; the purge then runs
31 days after T0 with the default retention of 30 days, so its cut-off is
T0 + 1 day.
"""

from collections.abc import Callable

import pytest
from sqlalchemy import insert, text
from sqlalchemy.sql import ClauseElement

from trackway.domain.calls import event_call, identity_call
from trackway.domain.ids import new_id
from trackway.domain.policy import Policy
from trackway.store import retention
from trackway.store import writer as writer_module
from trackway.store.database import Database
from trackway.store.housekeeping import forget_expired
from trackway.store.idempotency import StoredResponse
from trackway.store.retention import forget_anonymous
from trackway.store.tables import events, sessions
from trackway.store.writer import Writer

T0 = 1_796_292_000_000
DAY = 86_400_000
POLICY = Policy()
SWEEP_AT = T0 + 31 * DAY
BEFORE = SWEEP_AT - POLICY.anonymous_retention_ms

Send = Callable[..., None]


def answer(_outcome: object) -> StoredResponse:
    return StoredResponse(204, {}, b"")


@pytest.fixture
def send(database: Database, org_id: str, monkeypatch: pytest.MonkeyPatch) -> Send:
    """Send an event at moment `at`, with an identity when given an email."""
    writer = Writer(database, POLICY)

    def call(tracking_id: str, at: int, email: str | None = None) -> None:
        monkeypatch.setattr(writer_module, "now_ms", lambda: at)
        event = event_call(
            {"trackingId": tracking_id, "name": "page-viewed"}, POLICY, at
        )
        identity = None
        if email is not None:
            body = {"trackingId": tracking_id, "email": email}
            identity = identity_call(body, POLICY)
        writer.track(org_id, identity, event, answer)

    return call


def tracking_ids(database: Database, table: str, kind: str = "") -> list[str]:
    """The trackingIds of `table`'s rows (events: of that kind only)."""
    where = f" WHERE kind = '{kind}'" if kind else ""
    query = text(f"SELECT tracking_id FROM {table}{where}")
    with database.read() as connection:
        return sorted({row.tracking_id for row in connection.execute(query)})


def add_old_anonymous_events(
    database: Database,
    org_id: str,
    n: int,
    customer_id: str | None = None,
    at: int = T0,
) -> None:
    """`n` events at `at` (default: anonymous ones from before the cut-off),
    straight into the table."""
    rows = [
        {
            "org_id": org_id,
            "event_id": new_id(at / 1000),
            "kind": "tracking",
            "customer_id": customer_id,
            "tracking_id": f"bot-{i}",
            "session_id": f"bot-{i}",
            "name": "page-viewed",
            "published_at": at + i,
            "created_at": at + i,
        }
        for i in range(n)
    ]
    with database.write() as connection:
        connection.execute(insert(events), rows)


def add_sessions(
    database: Database, org_id: str, n: int, customer_id: str | None
) -> None:
    rows = [
        {
            "org_id": org_id,
            "tracking_id": f"{customer_id}-{i}",
            "session_id": f"s-{i}",
            "id": new_id(T0 / 1000),
            "customer_id": customer_id,
            "first_event_at": T0 if customer_id is None else SWEEP_AT,
            "last_event_at": T0 if customer_id is None else SWEEP_AT,
            "count": 1,
        }
        for i in range(n)
    ]
    with database.write() as connection:
        connection.execute(insert(sessions), rows)


def test_old_anonymous_history_goes_and_recent_or_customer_history_stays(
    database: Database, org_id: str, send: Send
) -> None:
    send("anon-old", T0)
    send("anon-old", T0 + 60_000)
    send("jane", T0)
    send("jane", T0 + 60_000, email="jane@example.com")
    send("anon-recent", T0 + 20 * DAY)

    purged = forget_anonymous(database, org_id, BEFORE)

    assert (purged.events, purged.sessions, purged.visitors) == (2, 1, 1)
    assert tracking_ids(database, "events", "tracking") == ["anon-recent", "jane"]
    assert tracking_ids(database, "sessions") == ["anon-recent", "jane"]
    assert tracking_ids(database, "visitors") == ["anon-recent", "jane"]
    with database.read() as connection:
        kept = connection.execute(text("SELECT count(*) FROM events"))
        # Jane's two events and her create record, and the recent event.
        assert kept.scalar_one() == 2 + 1 + 1


def test_an_anonymous_visitor_seen_lately_is_kept_without_its_old_events(
    database: Database, org_id: str, send: Send
) -> None:
    send("returning", T0)
    send("returning", T0 + 10 * DAY)

    purged = forget_anonymous(database, org_id, BEFORE)

    assert purged.events == 1
    assert tracking_ids(database, "visitors") == ["returning"]
    assert tracking_ids(database, "events", "tracking") == ["returning"]


def test_the_purge_deletes_in_batches_each_its_own_transaction(
    database: Database, org_id: str
) -> None:
    add_old_anonymous_events(database, org_id, 25)

    purged = forget_anonymous(database, org_id, BEFORE, batch=10)

    assert purged.events == 25
    # Events: 10, 10, 5; sessions: none left to find, one look.
    assert purged.transactions == 3 + 1
    assert tracking_ids(database, "events") == []


def test_ingest_is_committed_between_two_batches_of_a_purge(
    database: Database, org_id: str, send: Send, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The purge holds no transaction between batches: a call sent there
    commits at once (it would wait for ever on SQLite's one writer)."""
    add_old_anonymous_events(database, org_id, 50)
    seen_left: list[int] = []

    def rest(_took: float) -> None:
        if not seen_left:
            send("live-visitor", SWEEP_AT)
            seen_left.append(len(tracking_ids(database, "events", "tracking")))

    monkeypatch.setattr(retention, "_rest", rest)
    purged = forget_anonymous(database, org_id, BEFORE, batch=20)

    assert seen_left == [50 - 20 + 1]
    assert purged.events == 50
    assert tracking_ids(database, "events", "tracking") == ["live-visitor"]


def test_housekeeping_purges_every_org_with_the_policy_s_retention(
    database: Database, org_id: str, send: Send
) -> None:
    send("anon-old", T0)

    cleaned = forget_expired(database, POLICY, SWEEP_AT)

    assert cleaned == 1
    assert tracking_ids(database, "events") == []
    assert tracking_ids(database, "visitors") == []


def test_the_purge_finds_its_rows_by_index(database: Database, org_id: str) -> None:
    """EXPLAIN of each delete on this backend, on a table with statistics
    where most events are a customer's; sequential scans are ruled out."""
    add_old_anonymous_events(database, org_id, 3000, "c" * 24, SWEEP_AT)
    add_old_anonymous_events(database, org_id, 200)
    add_old_anonymous_events(database, org_id, 200, at=SWEEP_AT)
    add_sessions(database, org_id, 3000, "c" * 24)
    add_sessions(database, org_id, 200, None)
    with database.write() as connection:
        connection.exec_driver_sql("ANALYZE")
    statements = {
        "ix_events_timeline": retention.old_events(org_id, BEFORE, 1000),
        "ix_sessions_customer": retention.empty_sessions(org_id, BEFORE, 1000),
    }

    for index, statement in statements.items():
        plan = explain(database, statement)

        assert index in plan, plan
        assert "SCAN events" not in plan and "Seq Scan" not in plan, plan


def explain(database: Database, statement: ClauseElement) -> str:
    with database.write() as connection:
        literal = {"literal_binds": True}
        sql = str(statement.compile(dialect=connection.dialect, compile_kwargs=literal))
        if database.is_sqlite:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            return "\n".join(str(row[-1]) for row in rows)
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {sql}")
        plan = "\n".join(str(row[0]) for row in rows)
        connection.rollback()
        return plan
