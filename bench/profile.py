"""Stage `profile`: where the ingest server's CPU goes, and what 0.40 x
the ceiling would leave each request.

py-spy samples the server while wrk loads it at the first connection
count, as the closed-loop run does. It keeps only samples of threads
it sees running rather than idle (blocked waiting for the network, a
lock or the GIL): the server's CPU, which is what limits it. Each sample is charged to a
layer by its innermost frame, so C work counts for the Python frame that
called it: msgspec decoding for the route that decodes, and SQLite's own
work (which runs without the GIL) for the function that hands it a
statement or a commit, shown as a layer of its own.
"""

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.options import Options
from bench.report import Report
from bench.runs import Bodies, Cursor
from bench.servers import BenchError, Server
from bench.wrk import Load, run_wrk

RATE_HZ = 200
# Functions whose own time is the SQLite driver's C code: SQLAlchemy's,
# and Trackway's own way to run a statement compiled once.
_DRIVER_CALLS = {
    ("do_execute", "sqlalchemy/"),
    ("do_executemany", "sqlalchemy/"),
    ("do_commit", "sqlalchemy/"),
    ("do_rollback", "sqlalchemy/"),
    ("run", "trackway/store/prepared.py"),
}
# (start of the innermost frame's file as py-spy names it, relative to
# its sys.path entry; layer), first match wins.
_LAYERS = (
    ("trackway/api/", "Trackway HTTP layer (routes, decoding, auth, answers)"),
    ("trackway/domain/", "rules of identity and sessions"),
    ("trackway/store/", "Trackway storage layer (statements, group commit)"),
    ("trackway/", "Trackway, other (logs, metrics, app set-up)"),
    ("sqlalchemy/", "SQLAlchemy"),
    ("starlette/", "Starlette"),
    ("uvicorn/", "uvicorn (HTTP parsing, connections)"),
    ("httptools/", "uvicorn (HTTP parsing, connections)"),
    ("h11/", "uvicorn (HTTP parsing, connections)"),
    ("asyncio/", "event loop (asyncio)"),
    ("structlog/", "logging (structlog)"),
    ("logging/", "logging (structlog)"),
    ("prometheus_client/", "metrics (prometheus_client)"),
    ("concurrent/", "threads: futures, queues, locks"),
    ("threading.py", "threads: futures, queues, locks"),
    ("queue.py", "threads: futures, queues, locks"),
)
_SQLITE = "SQLite itself (statements, commits)"
_OTHER = "other (standard library, other packages)"


@dataclass(frozen=True, slots=True)
class Profile:
    samples: int
    layers: Counter[str]
    functions: Counter[str]


def stage(
    options: Options, report: Report, bodies: Bodies, server: Server, cursor: Cursor
) -> None:
    """Profile one loaded run of `server` and add the shares by layer."""
    connections = options.connections[0]
    out = server.log.with_name("profile.txt")
    profile = _sampled(server, bodies, cursor, connections, options, out)
    if not profile.samples:
        raise BenchError(f"py-spy took no samples of the server; see {out}")
    for layer, count in profile.layers.most_common():
        report.add("profile", layer, 100 * count / profile.samples, "% CPU")
    ceiling = report.value("ceiling", f"requests/s @{connections}")
    if ceiling:
        budget = 1000 / (0.40 * ceiling)
        report.add("profile", "CPU per request at 0.40 x ceiling", budget, "ms")
    cpu = report.value("ingest", f"server CPU @{connections}")
    if cpu:
        report.add("profile", f"CPU per request measured @{connections}", cpu, "ms")
    report.details["profile"] = {
        "samples": profile.samples,
        "rate_hz": RATE_HZ,
        "top_functions_self_percent": {
            name: round(100 * count / profile.samples, 1)
            for name, count in profile.functions.most_common(25)
        },
    }


def _sampled(
    server: Server,
    bodies: Bodies,
    cursor: Cursor,
    connections: int,
    options: Options,
    out: Path,
) -> Profile:
    load = Load(server.url, server.key, bodies.path, start=cursor.line)
    log = server.log.with_name("wrk-profile.txt")
    cursor.advance(run_wrk(load, connections, options.warmup, log).requests)
    seconds = max(1, round(options.seconds / 3))
    command = [
        _py_spy(), "record", "--pid", str(server.pid), "--nonblocking",
        "--rate", str(RATE_HZ), "--duration", str(seconds),
        "--format", "raw", "--output", str(out),
    ]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as spy:
        load = Load(server.url, server.key, bodies.path, start=cursor.line)
        cursor.advance(run_wrk(load, connections, seconds, log).requests)
        _, errors = spy.communicate(timeout=seconds + 30)
    if spy.returncode != 0 or not out.exists():
        raise BenchError(f"py-spy failed: {errors.strip()[-500:]}")
    return read_profile(out)


def _py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise BenchError("py-spy is not installed: run make .venv/.installed-dev")
    return found


def read_profile(path: Path) -> Profile:
    """Read py-spy's raw output: one `frame;frame;... count` line per stack,
    outermost frame first, each frame `function (file:line)`."""
    layers: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        innermost = stack.rsplit(";", 1)[-1]
        samples += int(count)
        layers[layer_of(innermost)] += int(count)
        functions[innermost.rsplit(":", 1)[0] + ")"] += int(count)
    return Profile(samples, layers, functions)


def layer_of(frame: str) -> str:
    """The layer of one py-spy frame, `function (file:line)`."""
    function, _, where = frame.partition(" (")
    method = function.rsplit(".", 1)[-1]  # py-spy names methods Class.method
    for name, start in _DRIVER_CALLS:
        if method == name and where.startswith(start):
            return _SQLITE
    for start, layer in _LAYERS:
        if where.startswith(start):
            return layer
    return _OTHER
