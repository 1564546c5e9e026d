"""Running wrk, the load generator, with bench/load.lua.

wrk runs in a process of its own over loopback. Its Lua script prints one
`BENCH_RESULT {json}` line at the end, so nothing here parses wrk's
human-readable text (kept in the stage folder for a reader).
"""

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.servers import BenchError

SCRIPT = Path(__file__).with_name("load.lua")
# Long enough that a slow answer counts as slow, not as a lost request.
TIMEOUT = "10s"
_MARK = "BENCH_RESULT "


@dataclass(frozen=True, slots=True)
class Load:
    """What to send: each line of `lines` is a body to POST to `path`, or
    (method GET) a path; `start` is the line the first thread begins at."""

    url: str
    key: str
    lines: Path
    path: str = "/v1/tracking/identityEvent"
    method: str = "post"
    start: int = 0


@dataclass(frozen=True, slots=True)
class Result:
    """One wrk run. Latencies are in milliseconds."""

    seconds: float
    requests: int
    errors: int
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "requests": self.requests,
            "rps": round(self.rps, 1),
            "errors": self.errors,
            "non_2xx": self.non_2xx,
            "socket_errors": self.socket_errors,
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
        }


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package when it is missing and
    we may (root); otherwise BenchError saying how to get it."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False)
        found = shutil.which("wrk")
        if not found:
            subprocess.run(["apt-get", "update"], check=False)
            subprocess.run(["apt-get", "install", "-y", "wrk"], check=False)
            found = shutil.which("wrk")
    if not found:
        raise BenchError(
            "wrk is not installed; install it with: sudo apt-get install -y wrk"
        )
    return found


def run_wrk(
    load: Load,
    connections: int,
    seconds: float,
    log: Path,
    *,
    threads: int = 1,
    rate: float = 0,
    until: Callable[[], bool] | None = None,
) -> Result:
    """One wrk run of `seconds` (or until `until()` turns true, checked
    twice a second); `rate` > 0 paces it to that many requests per second."""
    threads = min(threads, connections)
    command = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={TIMEOUT}",
        "--latency",
        *("-s", str(SCRIPT), load.url, "--"),
        *_script_arguments(load, threads, rate),
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=out)
        if until is not None:
            _stop_when(process, until)
        output, _ = process.communicate()
        out.write(output)
    return _parse(output.decode(), log)


def _script_arguments(load: Load, threads: int, rate: float) -> list[str]:
    """What bench/load.lua reads, in its order."""
    return [
        str(load.lines), load.method, load.path, load.key,
        str(load.start), str(threads), str(rate),
    ]  # fmt: skip


def _stop_when(process: subprocess.Popen[bytes], until: Callable[[], bool]) -> None:
    # wrk answers SIGINT by ending the run and printing its summary.
    while process.poll() is None:
        time.sleep(0.5)
        if until():
            process.send_signal(signal.SIGINT)
            return


def _parse(output: str, log: Path) -> Result:
    lines = [line for line in output.splitlines() if line.startswith(_MARK)]
    if not lines:
        raise BenchError(f"wrk printed no result; see {log}")
    raw = json.loads(lines[-1].removeprefix(_MARK))
    socket_errors = sum(
        raw[name]
        for name in ("connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return Result(
        seconds=raw["duration_us"] / 1e6,
        requests=raw["requests"],
        errors=socket_errors + raw["status_errors"],
        non_2xx=raw["status_errors"],
        socket_errors=socket_errors,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )
