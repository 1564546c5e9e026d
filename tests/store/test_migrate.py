"""Migrations build the same schema on each backend, once, however started."""

import subprocess
import sys
import time

from sqlalchemy import Connection, create_engine, inspect, text

from trackway.store.database import normalise_url
from trackway.store.migrate import MIGRATION_LOCK, upgrade
from trackway.store.tables import metadata


def schema_of(url: str) -> tuple[set[str], list[str]]:
    """The tables of the database at `url`, and its Alembic version rows."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            versions = connection.execute(text("SELECT * FROM alembic_version"))
            return tables, [row[0] for row in versions]
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_of_the_model(blank_database_url: str) -> None:
    upgrade(blank_database_url)

    tables, versions = schema_of(blank_database_url)
    assert tables == set(metadata.tables) | {"alembic_version"}
    assert len(versions) == 1


def test_upgrading_twice_changes_nothing(blank_database_url: str) -> None:
    upgrade(blank_database_url)
    before = schema_of(blank_database_url)

    upgrade(blank_database_url)

    assert schema_of(blank_database_url) == before


def test_a_migration_waits_for_one_already_running(
    postgres_database_url: str,
) -> None:
    """Servers on several machines may start, and migrate, at once."""
    engine = create_engine(normalise_url(postgres_database_url))
    command = [sys.executable, "-m", "trackway", "db", "upgrade"]
    command += ["--database-url", postgres_database_url]
    try:
        with engine.connect() as holder:
            holder.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK}
            )
            second = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            waited = waits_for_a_lock(holder, second)
            holder.commit()
        _, complaint = second.communicate(timeout=60)
    finally:
        engine.dispose()

    assert waited
    assert second.returncode == 0, complaint
    assert schema_of(postgres_database_url)[1] != []


def waits_for_a_lock(holder: Connection, process: subprocess.Popen[bytes]) -> bool:
    """True once another session waits for the advisory lock `holder` has."""
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if holder.execute(query).scalar_one() > 0:
            return True
        time.sleep(0.05)
    return False
