"""A real `trackway serve` process on a free port of 127.0.0.1.

The server starts on a database of the test's own, migrates it, and
prints the first key of org `default`, which the test reads. It is
stopped when the block ends, whatever happens in it.
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
import pytest

START_TIMEOUT_S = 20.0
KEY = re.compile(r"tw_[0-9a-f]{24}_[A-Za-z0-9_-]{43}")


@dataclass
class LiveServer:
    url: str
    key: str
    environ: dict[str, str]
    """The server's environment, with TRACKWAY_URL and TRACKWAY_KEY."""


@contextmanager
def live_server(database_url: str, folder: Path) -> Iterator[LiveServer]:
    environ = clean_environment()
    environ["TRACKWAY_DATABASE_URL"] = database_url
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "trackway", "serve", "--port", str(port)]
    banner = folder / "server-stderr.txt"
    with (folder / "server-stdout.txt").open("wb") as out, banner.open("wb") as err:
        process = subprocess.Popen(command, env=environ, stdout=out, stderr=err)
    try:
        _wait_until_healthy(url, process, banner)
        key = KEY.search(banner.read_text())
        assert key is not None, banner.read_text()
        environ = {**environ, "TRACKWAY_URL": url, "TRACKWAY_KEY": key.group(0)}
        yield LiveServer(url, key.group(0), environ)
    finally:
        process.terminate()
        process.wait(timeout=10)


def clean_environment() -> dict[str, str]:
    """This process's environment without any TRACKWAY_* variable."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TRACKWAY_")
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _wait_until_healthy(
    url: str, process: subprocess.Popen[bytes], banner: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server stopped: {banner.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not answer /healthz in {START_TIMEOUT_S} s")
