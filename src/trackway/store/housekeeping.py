"""Forgetting what the retention rules say to forget, for every org.

Writes forget their own org's old rows now and then, but an org that stops
sending would keep them; the server runs `forget_expired` on a timer so
that rows past their retention go whatever the traffic: messageIds,
refusals, and anonymous events with the sessions and visitors they leave
empty (`retention`). Each org is cleaned in transactions of its own, so
ingest waits on one short delete at a time, never on the whole sweep.
"""

from dataclasses import asdict

from trackway.domain.errors import Unavailable
from trackway.domain.policy import Policy
from trackway.logs import get_logger
from trackway.store import accounts
from trackway.store.database import Contention, Database
from trackway.store.rate_counts import forget_old_counts
from trackway.store.retention import forget_anonymous
from trackway.store.segment import forget_old

_log = get_logger("trackway.store")


def forget_expired(database: Database, policy: Policy, now: int) -> int:
    """Forget expired messageIds, refusals, rate limit counts and anonymous
    history of every org; how many orgs were cleaned (an org whose turn
    fails is left for the next sweep)."""
    cleaned = 0
    before = now - policy.anonymous_retention_ms
    for org in accounts.list_orgs(database):
        try:
            with database.write() as conn:
                forget_old(conn, org.org_id, now, policy.dedupe_window_ms)
                forget_old_counts(conn, org.org_id, now // 1000)
            purged = forget_anonymous(database, org.org_id, before)
        except (Unavailable, Contention):
            _log.warning("housekeeping_skipped", org=org.org_id)
            continue
        if purged.events or purged.sessions or purged.visitors:
            _log.info("anonymous_history_forgotten", org=org.org_id, **asdict(purged))
        cleaned += 1
    return cleaned
