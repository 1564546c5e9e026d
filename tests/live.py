"""Real `trackway serve` processes for tests that go over real HTTP.

Each server gets a free port on 127.0.0.1 and the database URL it is given;
its first key is read from the banner it prints on its first start, or
given by the test when it restarts a server on a database used before.
"""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

START_TIMEOUT_S = 30.0
KEY = re.compile(r"tw_[0-9a-f]{24}_[A-Za-z0-9_-]{43}")


@dataclass
class Server:
    url: str
    key: str
    environ: dict[str, str]
    """The server's environment, with TRACKWAY_URL and TRACKWAY_KEY added,
    for commands that talk to it."""
    process: subprocess.Popen[bytes]
    """The `trackway serve` process (one, with one worker)."""
    log: Path
    """Its stdout: the JSON log lines."""

    def kill(self) -> None:
        """Stops a server of one worker at once, as a crash would: SIGKILL,
        so it neither finishes nor answers the calls in flight. (With more
        workers only their supervisor would die.)"""
        self.process.kill()
        self.process.wait(timeout=20)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@contextmanager
def running_server(
    database_url: str,
    folder: Path,
    workers: int = 1,
    key: str | None = None,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """A server on a free port, stopped when the block ends.

    `key`: the key printed when the database was first served, for a
    server started again on it (only the first start prints one).
    `settings`: more TRACKWAY_* variables for the server, such as timeouts.
    """
    environ = {**environment(database_url), **(settings or {})}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "trackway", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    banner = folder / f"stderr-{port}.txt"
    log = folder / f"stdout-{port}.txt"
    with log.open("wb") as out, banner.open("wb") as err:
        process = subprocess.Popen(command, env=environ, stdout=out, stderr=err)
    try:
        wait_until_healthy(url, process, banner)
        key = key or first_key(banner)
        environ = {**environ, "TRACKWAY_URL": url, "TRACKWAY_KEY": key}
        yield Server(url, key, environ, process, log)
    finally:
        process.terminate()
        process.wait(timeout=20)


def first_key(banner: Path) -> str:
    """The key in the banner of a server's first start."""
    found = KEY.search(banner.read_text())
    assert found is not None, banner.read_text()
    return found.group(0)


def environment(database_url: str) -> dict[str, str]:
    """This process's environment without TRACKWAY_*, and the database."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TRACKWAY_")
    }
    environ["TRACKWAY_DATABASE_URL"] = database_url
    return environ


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def wait_until_healthy(
    url: str, process: subprocess.Popen[bytes], banner: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server stopped: {banner.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not answer /readyz in {START_TIMEOUT_S} s")
