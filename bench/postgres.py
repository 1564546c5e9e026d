"""Stage 5: the ingest runs of stage 2 on PostgreSQL.

For each `--postgres-workers` count, a database `trackway_bench_<random>`
is created on the server of `--postgres-url` (whose user needs CREATEDB),
migrated, served by `trackway serve --workers N` and loaded like SQLite's
ingest at each connection count; then dropped. The server's RSS and CPU
are those of Trackway's processes; PostgreSQL's own are not counted.
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from bench import procstats
from bench.ingest import closed_loop
from bench.options import Options
from bench.report import Report
from bench.runs import MB, Bodies, Cursor
from bench.servers import BenchError, run_trackway, trackway_server


def stage(options: Options, report: Report, bodies: Bodies, folder: Path) -> None:
    for workers in options.postgres_workers:
        name = f"postgres w{workers}"
        with scratch_database(options.postgres_url) as url:
            run_trackway(url, "db", "upgrade")
            with trackway_server(url, folder, workers) as server:
                idle = procstats.rss_bytes(server.pid) / MB
                report.details[f"{name} idle RSS MB"] = round(idle, 1)
                cursor = Cursor(bodies.count)
                closed_loop(options, report, bodies, server, cursor, name)


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new empty database on that server, dropped afterwards; its URL."""
    name = f"trackway_bench_{secrets.token_hex(4)}"
    admin = make_url(server_url).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            )
    except psycopg.Error as error:
        raise BenchError(
            f"cannot create a database on {admin.render_as_string()}: {error}"
            " (start PostgreSQL, or point --postgres-url at one)"
        ) from None
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            connection.execute(drop.format(sql.Identifier(name)))
