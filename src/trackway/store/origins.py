"""The origins each org lets browsers call the tracking endpoints from.

They are a JSON list on the org's row: `orgs` is read by key id before
any org is known, and a preflight names no org at all, so the list lives
where a server can read every org's at once (on Citus, a reference table).
"""

from sqlalchemy import Connection, select, update

from trackway.domain.errors import Invalid, NotFound, Problem
from trackway.domain.origins import MAX_ORIGINS, parse_origin
from trackway.store.database import Database
from trackway.store.tables import orgs


def origins_of(db: Database, org_id: str) -> list[str]:
    """The org's origins, sorted. Raises NotFound for an unknown org."""
    with db.read() as connection:
        return _origins(connection, org_id)


def add_origin(db: Database, org_id: str, origin: str) -> str:
    """Allow `origin` (normalised, which is returned) for the org; adding
    one twice keeps one. Raises Invalid for something that is no origin
    or past MAX_ORIGINS, NotFound for an unknown org."""
    origin = parse_origin(origin)
    with db.write() as connection:
        origins = set(_origins(connection, org_id, lock=True))
        origins.add(origin)
        if len(origins) > MAX_ORIGINS:
            detail = f"an org allows at most {MAX_ORIGINS} origins"
            raise Invalid(Problem(detail))
        _store(connection, org_id, origins)
    return origin


def remove_origin(db: Database, org_id: str, origin: str) -> bool:
    """Stop allowing `origin`; False when the org did not allow it.
    Raises NotFound for an unknown org."""
    origin = parse_origin(origin)
    with db.write() as connection:
        origins = set(_origins(connection, org_id, lock=True))
        if origin not in origins:
            return False
        _store(connection, org_id, origins - {origin})
    return True


def allowed_origins(db: Database) -> dict[str, frozenset[str]]:
    """The origins of every org that allows any, by org id."""
    query = select(orgs.c.org_id, orgs.c.allowed_origins).where(
        orgs.c.allowed_origins.is_not(None)
    )
    with db.read() as connection:
        rows = connection.execute(query).all()
    return {row.org_id: frozenset(row.allowed_origins) for row in rows if row[1]}


def _origins(connection: Connection, org_id: str, lock: bool = False) -> list[str]:
    query = select(orgs.c.allowed_origins).where(orgs.c.org_id == org_id)
    if lock:
        # Two CLI runs at once must not each drop the other's change.
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        raise NotFound(Problem(f"no org with id {org_id!r}"))
    return sorted(row.allowed_origins or [])


def _store(connection: Connection, org_id: str, origins: set[str]) -> None:
    values = sorted(origins) or None
    query = update(orgs).where(orgs.c.org_id == org_id)
    connection.execute(query.values(allowed_origins=values))
