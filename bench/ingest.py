"""Stages 1 and 2: the ceiling, and Trackway's ingest on SQLite.

The ingest stages share one server on one database, in this order: the
closed-loop runs at each connection count, the run at half the rate of
the first of them, the run that `profile` samples, then the run that
keeps sending until the server has stored `--million` events. Each run
starts in the bodies file where the one before stopped, so no run replays
another's bodies until the file wraps around.
"""

import time
from collections.abc import Callable
from pathlib import Path

from bench import procstats, profile
from bench.options import Options
from bench.report import Report, Target
from bench.runs import MB, Bodies, Cursor, add_run, measured_run
from bench.serverlog import LogReader
from bench.servers import (
    BenchError,
    Server,
    ceiling_server,
    events_written,
    run_trackway,
    trackway_server,
)
from bench.wrk import Load, run_wrk

RATIO_TARGET = Target(at_least=0.40)
HALF_P99_TARGET = Target(at_most=15.0)
MILLION_RSS_TARGET = Target(at_most=250.0)
# Bound on the million run: it stops by itself if the server is this slow.
SLOWEST_RPS = 50


def ceiling(options: Options, report: Report, bodies: Bodies, folder: Path) -> None:
    with ceiling_server(folder) as server:
        cursor = Cursor(bodies.count)
        for connections in options.connections:
            run = measured_run(server, bodies, cursor, connections, options)
            add_run(report, "ceiling", f"@{connections}", run)
            report.details[f"ceiling@{connections}"] = run.as_dict()


def ingest(options: Options, report: Report, bodies: Bodies, folder: Path) -> None:
    """The ingest stages that `options.stages` names, on one server."""
    database_url = f"sqlite:///{folder / 'ingest.db'}"
    run_trackway(database_url, "db", "upgrade")
    with trackway_server(database_url, folder) as server:
        report.details["ingest idle RSS MB"] = procstats.rss_bytes(server.pid) / MB
        cursor = Cursor(bodies.count)
        rate = 0.0
        if "ingest" in options.stages:
            rate = closed_loop(options, report, bodies, server, cursor, "ingest")
            _ratio(options, report)
        if "half" in options.stages:
            _half(options, report, bodies, server, cursor, rate)
        if "profile" in options.stages:
            profile.stage(options, report, bodies, server, cursor)
        if "million" in options.stages:
            _million(options, report, bodies, server, cursor)


def closed_loop(
    options: Options,
    report: Report,
    bodies: Bodies,
    server: Server,
    cursor: Cursor,
    stage: str,
) -> float:
    """Runs at each connection count; returns the rate of the first."""
    first = 0.0
    for connections in options.connections:
        run = measured_run(server, bodies, cursor, connections, options)
        add_run(report, stage, f"@{connections}", run)
        report.details[f"{stage}@{connections}"] = run.as_dict()
        first = first or run.result.rps
    return first


def _ratio(options: Options, report: Report) -> None:
    label = f"@{options.connections[0]}"
    ours = report.value("ingest", f"requests/s {label}")
    ceiling = report.value("ceiling", f"requests/s {label}")
    ratio = ours / ceiling if ours and ceiling else None
    report.add("ingest", f"Trackway/ceiling rps {label}", ratio, "", RATIO_TARGET)


def _half(
    options: Options,
    report: Report,
    bodies: Bodies,
    server: Server,
    cursor: Cursor,
    rate: float,
) -> None:
    """p99 at half the closed-loop rate (measured now if not measured)."""
    connections = options.connections[0]
    if not rate:
        rate = measured_run(server, bodies, cursor, connections, options).result.rps
    run = measured_run(server, bodies, cursor, connections, options, rate / 2)
    label = f"@{connections}"
    report.add("half rate", "requests/s offered", rate / 2, "req/s")
    report.add("half rate", f"requests/s {label}", run.result.rps, "req/s")
    report.add("half rate", f"p50 {label}", run.result.p50_ms, "ms")
    report.add("half rate", f"p99 {label}", run.result.p99_ms, "ms", HALF_P99_TARGET)
    report.add("half rate", f"errors {label}", run.result.errors, "", Target(at_most=0))
    report.details["half rate"] = {"offered_rps": rate / 2, **run.as_dict()}


def _million(
    options: Options, report: Report, bodies: Bodies, server: Server, cursor: Cursor
) -> None:
    """Send until the server has stored `options.million` more events."""
    reader = LogReader(server.log)
    start = events_written(server)
    if start is None:
        raise BenchError("the server's /metrics has no trackway_events_written")
    load = Load(server.url, server.key, bodies.path, start=cursor.line)
    began = time.monotonic()
    result = run_wrk(
        load, options.connections[0], options.million / SLOWEST_RPS,
        server.log.with_name("wrk-million.txt"), threads=options.threads,
        until=_stored(server, start + options.million),
    )  # fmt: skip
    seconds = time.monotonic() - began
    cursor.advance(result.requests)
    stored = (events_written(server) or 0) - start

    rss = procstats.rss_bytes(server.pid) / MB
    label = f"after {options.million:,} events"
    report.add("million", "events stored", stored, "")
    report.add("million", f"server RSS {label}", rss, "MB", MILLION_RSS_TARGET)
    report.add("million", "server peak RSS (VmHWM)", _peak(server), "MB")
    report.add("million", "requests/s over the whole run", stored / seconds, "req/s")
    report.add("million", "errors", result.errors, "", Target(at_most=0))
    report.details["million"] = {
        "events_stored": stored,
        "seconds": round(seconds, 1),
        "wrk": result.as_dict(),
        "server_log": reader.tally().as_dict(),
    }


def _stored(server: Server, wanted: int) -> Callable[[], bool]:
    def enough() -> bool:
        return (events_written(server) or 0) >= wanted

    return enough


def _peak(server: Server) -> float:
    return procstats.peak_rss_bytes(server.pid) / MB
