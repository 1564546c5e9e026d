"""A live `trackway serve` holding the ecom data set, and Debian's Chromium.

The browser tests and the screenshot script (`make screenshots`) share
these. The data set is imported once into a SQLite file (`seed`); each
server then runs on a copy of it (`copy_of`), so every test has a
database of its own without importing 31,106 rows again.

Chromium is Debian's (`apt-get install chromium`): Playwright drives it
through `executable_path`, never with a browser of its own download.
"""

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Playwright

from backends import sqlite_url
from live import environment, free_port, wait_until_healthy

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
REQUIRE_BROWSER = "TRACKWAY_TEST_REQUIRE_BROWSER"
NO_BROWSER = (
    f"browser tests need Debian's Chromium at {CHROMIUM}: "
    "apt-get install -y chromium (CI installs it and sets "
    f"{REQUIRE_BROWSER}=1)"
)
DATA_SET = Path(__file__).parent / "data" / "ecom-clickstream.csv.gz"
ORG = "acme"
# Signs console cookies; any fixed value of 32 characters or more.
CONSOLE_SECRET = "console-secret-for-tests-only-0123456789"


@dataclass(frozen=True)
class Seed:
    """The imported data set and the keys of its org."""

    path: Path
    read_key: str
    tracking_key: str


@dataclass(frozen=True)
class Site:
    """A running server on a copy of the seed."""

    url: str
    seed: Seed

    def send(self, path: str, body: object) -> httpx.Response:
        """POST to the tracking API with the org's tracking key."""
        headers = {"Authorization": f"Bearer {self.seed.tracking_key}"}
        return httpx.post(self.url + path, json=body, headers=headers, timeout=10)


def require_chromium() -> None:
    """Skip without Chromium, or fail when the run requires a browser."""
    if CHROMIUM.exists():
        return
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"{REQUIRE_BROWSER}=1 but {NO_BROWSER}")
    pytest.skip(NO_BROWSER)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def seed(folder: Path) -> Seed:
    """A SQLite file with org `acme`, two keys and the whole data set."""
    url = sqlite_url(folder, "seed.db")
    _trackway(url, "db", "upgrade")
    _trackway(url, "orgs", "create", ORG)
    read_key = _trackway(url, *_key_roles("org.permission.customer.read"))
    tracking_key = _trackway(url, *_key_roles("org.tracking"))
    _trackway(url, "import", str(DATA_SET), "--org", ORG)
    return Seed(folder / "seed.db", read_key.strip(), tracking_key.strip())


def copy_of(source: Seed, folder: Path) -> str:
    """The URL of a copy of the seed's database in `folder`."""
    original = sqlite3.connect(source.path)
    copy = sqlite3.connect(folder / "trackway.db")
    try:
        original.backup(copy)
    finally:
        copy.close()
        original.close()
    return sqlite_url(folder)


@contextmanager
def serving(database_url: str, source: Seed, folder: Path) -> Iterator[Site]:
    """`trackway serve` on a free port of 127.0.0.1 until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "trackway", "serve", "--port", str(port)]
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=_environment(database_url), stdout=out, stderr=out
        )
    try:
        wait_until_healthy(url, process, log)
        yield Site(url, source)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _key_roles(*roles: str) -> list[str]:
    options = [part for role in roles for part in ("--role", role)]
    return ["keys", "create", "--org", ORG, *options]


def _trackway(database_url: str, *args: str) -> str:
    command = [sys.executable, "-m", "trackway", *args]
    done = subprocess.run(
        command,
        env=_environment(database_url),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, f"trackway {' '.join(args)}: {done.stderr}"
    return done.stdout


def _environment(database_url: str) -> dict[str, str]:
    return {**environment(database_url), "TRACKWAY_CONSOLE_SECRET": CONSOLE_SECRET}
