"""Housekeeping: rows past their retention go even when an org is silent."""

from sqlalchemy import func, select

from trackway.domain.policy import Policy
from trackway.store import accounts, rejected
from trackway.store.database import Database
from trackway.store.housekeeping import forget_expired
from trackway.store.rejected import Refusal
from trackway.store.tables import rejected_messages

T0 = 1_796_292_000_000
DAY = 86_400_000


def refuse(database: Database, org_id: str, at: int) -> None:
    refusal = Refusal(index=0, reason="event is required", message={"type": "track"})
    with database.write() as conn:
        rejected.keep(conn, org_id, refusal, at)


def kept(database: Database, org_id: str) -> int:
    query = select(func.count()).where(rejected_messages.c.org_id == org_id)
    with database.read() as conn:
        return int(conn.execute(query).scalar_one())


def test_refusals_older_than_a_week_go_in_every_org(database: Database) -> None:
    acme = accounts.create_org(database, "acme")
    globex = accounts.create_org(database, "globex")
    for org_id in (acme, globex):
        refuse(database, org_id, T0)
        refuse(database, org_id, T0 + 6 * DAY)

    cleaned = forget_expired(database, Policy(), T0 + 7 * DAY + 1)

    assert cleaned == 2
    assert (kept(database, acme), kept(database, globex)) == (1, 1)


def test_a_sweep_within_the_week_keeps_every_refusal(database: Database) -> None:
    acme = accounts.create_org(database, "acme")
    refuse(database, acme, T0)

    forget_expired(database, Policy(), T0 + 7 * DAY)

    assert kept(database, acme) == 1
