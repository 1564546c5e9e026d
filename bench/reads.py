"""Stage 4: the read path on a database loaded by `trackway import`.

The server is started once on the fresh database to print its first key
(every role, so reads are allowed), stopped, the events imported, and the
server started again. Random customers (and for each a random session)
are drawn from the database; each endpoint is then read by wrk, cycling
through a file of their paths, with `--read-connections` connections
(default 1: the answer time of one request, not a queue), after a short
warm-up. Pages are the API's default sizes.
"""

import random
import sqlite3
from pathlib import Path

from bench.imports import cached_import_file, fresh_database, run_import
from bench.options import Options
from bench.report import Report, Target
from bench.serverlog import LogReader
from bench.servers import Server, trackway_server
from bench.wrk import Load, run_wrk

P99_TARGET = Target(at_most=10.0)
SAMPLE = 5_000
ENDPOINTS = {
    "sessions": "/v1/customers/{customer}/sessions",
    "session events": "/v1/customers/{customer}/sessions/{session}/events",
    "timeline": "/v1/customers/{customer}/timeline",
}


def stage(options: Options, report: Report, folder: Path) -> None:
    url, path = fresh_database(folder, "read", org=False)
    # The first start makes org `default` and prints a key with every role.
    with trackway_server(url, folder) as first:
        key = first.key
    file = cached_import_file(options.read_events, options.read_customers, options.seed)
    imported = run_import(url, file, folder)
    report.add("read", "import of the read data", imported.rate, "ev/s")
    report.details["read data"] = {
        "events": imported.events,
        "customers": file.customers,
        "import_seconds": round(imported.seconds, 1),
    }
    report.add("read", "database bytes per event", _bytes(path) / imported.events, "B")

    pairs = _sample(path, options.seed)
    with trackway_server(url, folder, key=key) as server:
        for name, template in ENDPOINTS.items():
            lines = folder / f"paths-{name.replace(' ', '-')}.txt"
            lines.write_text(
                "".join(template.format(customer=c, session=s) + "\n" for c, s in pairs)
            )
            _measure(options, report, server, name, lines)


def _bytes(path: Path) -> int:
    """The database file with its WAL and shared-memory files."""
    files = [
        path,
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
    ]
    return sum(file.stat().st_size for file in files if file.exists())


def _sample(path: Path, seed: int) -> list[tuple[str, str]]:
    """(customer id, session resource id) of up to SAMPLE customers drawn
    at random, the same ones for the same seed and data."""
    rng = random.Random(seed)
    with sqlite3.connect(path) as connection:
        (last,) = connection.execute("SELECT max(rowid) FROM customers").fetchone()
        rowids = rng.sample(range(1, last + 1), min(SAMPLE, last))
        marks = ", ".join("?" * len(rowids))
        rows = connection.execute(
            "SELECT s.customer_id, s.id FROM sessions AS s JOIN customers AS c"
            f" ON c.org_id = s.org_id AND c.customer_id = s.customer_id"
            f" WHERE c.rowid IN ({marks})",
            rowids,
        ).fetchall()
    by_customer: dict[str, list[str]] = {}
    for customer, session in sorted(rows):
        by_customer.setdefault(customer, []).append(session)
    pairs = [(c, rng.choice(sessions)) for c, sessions in by_customer.items()]
    rng.shuffle(pairs)
    return pairs


def _measure(
    options: Options, report: Report, server: Server, name: str, lines: Path
) -> None:
    load = Load(server.url, server.key, lines, method="get")
    log = server.log.with_name(f"wrk-read-{lines.stem}.txt")
    connections = options.read_connections
    run_wrk(load, connections, max(1.0, options.warmup / 2), log)
    reader = LogReader(server.log)
    result = run_wrk(load, connections, options.read_seconds, log)
    report.add("read", f"{name} p50", result.p50_ms, "ms")
    report.add("read", f"{name} p99", result.p99_ms, "ms", P99_TARGET)
    report.add("read", f"{name} errors", result.errors, "", Target(at_most=0))
    report.details[f"read {name}"] = {
        **result.as_dict(),
        "server_log": reader.tally().as_dict(),
    }
