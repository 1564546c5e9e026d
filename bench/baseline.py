"""The raw baseline of the import: the same rows, plain `executemany`.

It reads the same CSV file with the csv module and inserts, in one
transaction per 1,000 rows, what the import stores for them, with no
rules, no identity resolution and no reads:

- an `events` row per CSV row (kind `tracking`, its meta as JSON);
- for each customer, on its first row: a `customers` row, its
  `identifiers` (externalId, and email when given), its `visitors` row
  and its `kustomer.customer.create` change record in `events`;
- the `sessions` rows, as upserts that add each batch's count.

The database is a fresh one migrated by `trackway db upgrade`, so the
schema and indexes are the import's own, opened with the server's
pragmas (WAL, synchronous=FULL). It does not update customers'
lastSeenAt, nor check anything. It is the floor under what an import can
cost on this machine, not a rival importer.
"""

import csv
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from bench.importfile import COLUMNS
from bench.servers import BenchError
from trackway.store.importer import DEFAULT_BATCH_SIZE

# The import's own transaction size, so both commit as often.
BATCH = DEFAULT_BATCH_SIZE
_encode = msgspec.json.Encoder().encode
_META = COLUMNS[5:]

_INSERTS = {
    "events": (
        "org_id", "event_id", "kind", "customer_id", "tracking_id",
        "session_id", "name", "meta", "published_at", "created_at",
    ),
    "customers": (
        "org_id", "customer_id", "rev", "profile", "created_at",
        "updated_at", "modified_at", "last_seen_at",
    ),
    "identifiers": ("org_id", "kind", "value", "customer_id"),
    "visitors": (
        "org_id", "tracking_id", "identity_id", "customer_id", "remember",
        "email", "status", "status_at", "session_id", "session_at",
        "created_at", "updated_at",
    ),
}  # fmt: skip
_SESSION_COLUMNS = (
    "org_id", "tracking_id", "session_id", "id", "customer_id",
    "first_event_at", "last_event_at", "count",
)  # fmt: skip
_SESSIONS = (
    f"INSERT INTO sessions ({', '.join(_SESSION_COLUMNS)})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (org_id, tracking_id, session_id) DO UPDATE SET"
    " last_event_at = max(last_event_at, excluded.last_event_at),"
    " count = count + excluded.count"
)


@dataclass(slots=True)
class _Batch:
    rows: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {table: [] for table in _INSERTS}
    )
    sessions: dict[tuple[str, str], list[Any]] = field(default_factory=dict)


def insert_baseline(database: Path, csv_file: Path, org_id: str) -> int:
    """Insert the rows of `csv_file`; return how many events were stored."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    _check_schema(connection)
    customers: dict[str, str] = {}
    stored = 0
    try:
        for rows in _batches(csv_file):
            batch = _Batch()
            for row in rows:
                _add_row(batch, row, org_id, customers)
            _write(connection, batch, org_id)
            stored += len(rows)
    finally:
        connection.close()
    return stored


def _batches(csv_file: Path) -> Iterator[list[list[str]]]:
    with csv_file.open(newline="") as text:
        reader = csv.reader(text)
        next(reader)  # the header
        batch: list[list[str]] = []
        for row in reader:
            batch.append(row)
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def _add_row(
    batch: _Batch, row: list[str], org: str, customers: dict[str, str]
) -> None:
    user, email, session, name, stamp = row[:5]
    at = _ms(stamp)
    now = int(time.time() * 1000)
    customer = customers.get(user)
    if customer is None:
        customer = customers[user] = _new_id(at)
        _add_customer(batch, org, customer, user, email, session, at, now)
    cells = zip(_META, row[5:], strict=True)
    meta = _encode({key: _typed(key, cell) for key, cell in cells if cell})
    batch.rows["events"].append(
        (org, _new_id(at), "tracking", customer, user, session, name, meta, at, now)
    )
    known = batch.sessions.get((user, session))
    if known is None:
        batch.sessions[(user, session)] = [_new_id(at), customer, at, at, 1]
    else:
        known[3] = max(known[3], at)
        known[4] += 1


def _add_customer(
    batch: _Batch,
    org: str,
    customer: str,
    user: str,
    email: str,
    session: str,
    at: int,
    now: int,
) -> None:
    rows = batch.rows
    profile = {"externalId": user, "emails": [{"email": email}] if email else []}
    rows["customers"].append((org, customer, 1, _encode(profile), at, at, at, at))
    rows["identifiers"].append((org, "externalId", user, customer))
    if email:
        rows["identifiers"].append((org, "email", email, customer))
    rows["visitors"].append(
        (org, user, _new_id(at), customer, True, email or None, "created", at,
         session, at, now, now)
    )  # fmt: skip
    rows["events"].append(
        (org, _new_id(at), "create", customer, user, session,
         "kustomer.customer.create", None, at, now)
    )  # fmt: skip


def _write(connection: sqlite3.Connection, batch: _Batch, org: str) -> None:
    connection.execute("BEGIN IMMEDIATE")
    for table, columns in _INSERTS.items():
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        connection.executemany(sql, batch.rows[table])
    sessions = [
        (org, user, session, *values)
        for (user, session), values in batch.sessions.items()
    ]
    connection.executemany(_SESSIONS, sessions)
    connection.execute("COMMIT")


def _check_schema(connection: sqlite3.Connection) -> None:
    """Fail clearly if the schema gained a required column we do not fill."""
    for table, columns in {**_INSERTS, "sessions": _SESSION_COLUMNS}.items():
        info = connection.execute(f"PRAGMA table_info({table})").fetchall()
        if not info:
            raise BenchError(f"the schema has no table {table}; update baseline.py")
        for _, name, _, notnull, default, _ in info:
            if notnull and default is None and name not in columns:
                raise BenchError(
                    f"{table}.{name} is new and required; update bench/baseline.py"
                )


def _typed(key: str, text: str) -> Any:
    if key.endswith("Num"):
        return float(text) if "." in text else int(text)
    if key.endswith("Bool"):
        return text == "true"
    return text


def _ms(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp).timestamp() * 1000)


def _new_id(at_ms: int) -> str:
    """A time-ordered id like the server's (4 bytes of seconds, then 8
    random ones): rows then land near the end of the primary key's B-tree,
    as Trackway's do, instead of at random pages."""
    return f"{at_ms // 1000:08x}{os.urandom(8).hex()}"
