"""Server processes the bench starts: `trackway serve` and the ceiling.

Each runs in a process of its own on a free port of 127.0.0.1, its JSON
log lines going to a file in the stage's folder. `trackway serve` prints
its first API key (every role) on its first start on a database; the key
is read from that banner, as tests/live.py does.
"""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT_S = 60.0
KEY = re.compile(r"tw_[0-9a-f]{24}_[A-Za-z0-9_-]{43}")


class BenchError(Exception):
    """A stage cannot go on; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    key: str
    pid: int
    log: Path
    """The server's stdout: its JSON log lines."""


def environment(database_url: str) -> dict[str, str]:
    """This process's environment without TRACKWAY_*, and the database."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TRACKWAY_")
    }
    environ["TRACKWAY_DATABASE_URL"] = database_url
    return environ


def trackway(*arguments: str) -> list[str]:
    """The command line of `trackway ARGUMENTS` from this interpreter."""
    return [sys.executable, "-m", "trackway", *arguments]


def run_trackway(database_url: str, *arguments: str) -> str:
    """Run a `trackway` command to its end; its stdout, or BenchError."""
    done = subprocess.run(
        trackway(*arguments),
        env=environment(database_url),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"trackway {' '.join(arguments)} failed: {done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def trackway_server(
    database_url: str, folder: Path, workers: int = 1, key: str | None = None
) -> Iterator[Server]:
    """`trackway serve` on a free port; `key` is needed when the database
    already has an org (no banner then)."""
    port = free_port()
    command = trackway("serve", "--port", str(port), "--workers", str(workers))
    with _process(command, environment(database_url), folder, port) as started:
        process, banner = started
        url = f"http://127.0.0.1:{port}"
        _wait_until_ready(f"{url}/readyz", process, banner)
        if key is None:
            found = KEY.search(banner.read_text())
            if found is None:
                raise BenchError(f"no API key in the banner: {banner.read_text()}")
            key = found.group(0)
        yield Server(url, key, process.pid, folder / f"stdout-{port}.txt")


@contextmanager
def ceiling_server(folder: Path) -> Iterator[Server]:
    """The bare ASGI app of bench/ceiling.py on a free port."""
    port = free_port()
    command = [sys.executable, "-m", "bench.ceiling", "--port", str(port)]
    with _process(command, dict(os.environ), folder, port) as started:
        process, banner = started
        url = f"http://127.0.0.1:{port}"
        _wait_until_ready(url, process, banner)
        yield Server(url, "none", process.pid, folder / f"stdout-{port}.txt")


@contextmanager
def _process(
    command: list[str], environ: dict[str, str], folder: Path, port: int
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    banner = folder / f"stderr-{port}.txt"
    with (folder / f"stdout-{port}.txt").open("wb") as out, banner.open("wb") as err:
        process = subprocess.Popen(command, env=environ, stdout=out, stderr=err)
    try:
        yield process, banner
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], banner: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the server stopped: {banner.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise BenchError(f"the server did not answer {url} in {START_TIMEOUT_S} s")


def events_written(server: Server) -> int | None:
    """Tracking events the server says it stored (its /metrics counter),
    or None when it does not say."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("trackway_events_written_total"):
            return int(float(line.split()[-1]))
    return None
