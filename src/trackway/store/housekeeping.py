"""Forgetting what the retention rules say to forget, for every org.

Writes forget their own org's old rows now and then, but an org that stops
sending would keep them; the server runs `forget_expired` on a timer so
that rows past their retention go whatever the traffic. Each org is
cleaned in a transaction of its own, so ingest waits on one short delete
at a time, never on the whole sweep.
"""

from trackway.domain.errors import Unavailable
from trackway.domain.policy import Policy
from trackway.logs import get_logger
from trackway.store import accounts
from trackway.store.database import Contention, Database
from trackway.store.rate_counts import forget_old_counts
from trackway.store.segment import forget_old

_log = get_logger("trackway.store")


def forget_expired(database: Database, policy: Policy, now: int) -> int:
    """Forget expired messageIds, refusals and rate limit counts of every
    org; how many orgs were cleaned (an org whose turn fails is left for
    the next sweep)."""
    cleaned = 0
    for org in accounts.list_orgs(database):
        try:
            with database.write() as conn:
                forget_old(conn, org.org_id, now, policy.dedupe_window_ms)
                forget_old_counts(conn, org.org_id, now // 1000)
        except (Unavailable, Contention):
            _log.warning("housekeeping_skipped", org=org.org_id)
            continue
        cleaned += 1
    return cleaned
