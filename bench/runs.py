"""A measured load run against a server, and the bodies it sends.

Each run is a warm-up and then the measured window, both with the same
connections (and pace). The server's CPU time is read from /proc just
before and after the measured window only; its RSS right after it.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procstats
from bench.bodies import write_bodies
from bench.options import CACHE, Options
from bench.report import Report, Target
from bench.serverlog import LogReader
from bench.servers import Server
from bench.wrk import Load, Result, run_wrk

# Part of the cache's file names: bump it when bench/bodies.py changes
# what it makes, so an old file is not reused.
BODIES_VERSION = 1
MB = 1024 * 1024
SETTLE_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class Bodies:
    path: Path
    count: int
    stats: dict[str, Any]


def prepared_bodies(options: Options) -> Bodies:
    """The bodies file for these options, made once and then cached."""
    CACHE.mkdir(exist_ok=True)
    name = f"bodies-v{BODIES_VERSION}-{options.visitors}-{options.seed}"
    path = CACHE / f"{name}.ndjson"
    described = CACHE / f"{name}.json"
    if not (path.exists() and described.exists()):
        stats = write_bodies(path, options.visitors, options.seed).as_dict()
        described.write_text(json.dumps(stats))
    stats = json.loads(described.read_text())
    return Bodies(path, stats["bodies"], stats)


class Cursor:
    """Where the next run starts in the bodies file, so that successive
    runs on one server send fresh bodies rather than the same ones."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.line = 0

    def advance(self, requests: int) -> None:
        self.line = (self.line + requests) % self.count


@dataclass(frozen=True, slots=True)
class Run:
    result: Result
    cpu_per_1000: float
    rss_mb: float
    server_log: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.result.as_dict(),
            "cpu_s_per_1000": round(self.cpu_per_1000, 3),
            "rss_mb": round(self.rss_mb, 1),
            "server_log": self.server_log,
        }


def measured_run(
    server: Server,
    bodies: Bodies,
    cursor: Cursor,
    connections: int,
    options: Options,
    rate: float = 0,
) -> Run:
    log = server.log.with_name(f"wrk-{server.log.stem}.txt")
    reader = LogReader(server.log)

    def load(seconds: float) -> Result:
        at = Load(server.url, server.key, bodies.path, start=cursor.line)
        result = run_wrk(
            at, connections, seconds, log, threads=options.threads, rate=rate
        )
        cursor.advance(result.requests)
        return result

    load(options.warmup)
    _settle(server.pid)
    reader.skip()

    before = procstats.cpu_seconds(server.pid)
    result = load(options.seconds)
    used = procstats.cpu_seconds(server.pid) - before
    rss = procstats.rss_bytes(server.pid) / MB
    per_1000 = used / result.requests * 1000 if result.requests else 0.0
    return Run(result, per_1000, rss, reader.tally().as_dict())


def _settle(pid: int) -> None:
    """Wait until the server has finished what the warm-up left in flight
    (its CPU clock stands still for a while), so that work is not counted
    in the measured window."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    used = procstats.cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = procstats.cpu_seconds(pid)
        if now - used < 0.02:
            return
        used = now


def add_run(report: Report, stage: str, label: str, run: Run) -> None:
    """The figures of one run, measures suffixed with `label` (@32)."""
    result = run.result
    report.add(stage, f"requests/s {label}", result.rps, "req/s")
    report.add(stage, f"p50 {label}", result.p50_ms, "ms")
    report.add(stage, f"p99 {label}", result.p99_ms, "ms")
    report.add(stage, f"max {label}", result.max_ms, "ms")
    report.add(stage, f"errors {label}", result.errors, "", Target(at_most=0))
    report.add(stage, f"server RSS {label}", run.rss_mb, "MB")
    report.add(stage, f"server CPU {label}", run.cpu_per_1000, "s/1k req")
