"""PostgreSQL stops for 10 s under load: the server answers 503, loses
nothing it acknowledged, and serves fully again once PostgreSQL is back.

The test runs a PostgreSQL cluster of its own (the machine's shared one on
5432 is never touched), started with the Debian binaries as the `postgres`
user on a free port of 127.0.0.1. Threads send tracking calls, each for a
visitor of its own, while the cluster is stopped (`pg_ctl stop -m fast`),
left down for OUTAGE_S and started again; then:

- every answer is a 2xx or a 503, and the server never drops a connection;
- every call answered 2xx is stored, exactly once;
- `/readyz` says 503 during the outage and 200 after, by itself;
- once ready again, calls pass as before.
"""

import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from backends import REQUIRE_POSTGRES
from live import Server, free_port, running_server
from test_durability import Call, stored_events

pytestmark = [pytest.mark.live, pytest.mark.long]

_log = logging.getLogger(__name__)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
OUTAGE_S = 10.0
WARM_UP_S = 3.0
AFTER_S = 3.0
RECOVERY_LIMIT_S = 30.0
THREADS = 6
SETTINGS = {"TRACKWAY_REQUEST_TIMEOUT_SECONDS": "2"}


class Cluster:
    """A private PostgreSQL cluster in a folder owned by `postgres`."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def pg(self, *args: str, check: bool = True) -> None:
        command = ["runuser", "-u", "postgres", "--", str(PG_BIN / args[0])]
        subprocess.run([*command, *args[1:]], check=check, capture_output=True)

    def init(self) -> None:
        data = str(self.folder / "data")
        self.pg("initdb", "-D", data, "-U", "postgres", "--auth=trust")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        data, log = str(self.folder / "data"), str(self.folder / "log")
        self.pg("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast", check: bool = True) -> None:
        data = str(self.folder / "data")
        self.pg("pg_ctl", "-D", data, "-m", mode, "stop", check=check)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists():
        reason = f"needs root and PostgreSQL's binaries in {PG_BIN}"
        if os.environ.get(REQUIRE_POSTGRES) == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="trackway-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    running = Cluster(folder, free_port())
    running.init()
    running.start()
    try:
        yield running
    finally:
        running.stop("immediate", check=False)
        shutil.rmtree(folder, ignore_errors=True)


class Load:
    """Tracking calls from THREADS threads until stopped, filed by answer."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.acknowledged: list[Call] = []
        self.unavailable: list[Call] = []
        self.other: list[str] = []
        """Answers other than 2xx and 503, and dropped connections."""
        self.stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def sent(self) -> int:
        return len(self.acknowledged) + len(self.unavailable) + len(self.other)

    def run(self, thread: int) -> None:
        with httpx.Client(
            base_url=self.server.url, headers=self.server.headers, timeout=30
        ) as http:
            n = 0
            while not self.stop.is_set():
                self._send(http, Call(f"v-{thread}-{n}", identified=n % 2 == 0))
                n += 1

    def _send(self, http: httpx.Client, call: Call) -> None:
        try:
            response = call.send(http)
        except httpx.TransportError as error:
            self._file(self.other, f"{call.tracking_id}: {error!r}")
            return
        if response.is_success:
            self._file(self.acknowledged, call)
        elif response.status_code == 503:
            self._file(self.unavailable, call)
            time.sleep(0.05)  # a polite client, yet faster than Retry-After
        else:
            self._file(self.other, f"{response.status_code} {response.text}")

    def _file(self, outcomes: list[object], outcome: object) -> None:
        with self._lock:
            outcomes.append(outcome)


def readiness(server: Server, stop: threading.Event, seen: list[int]) -> None:
    """Polls /readyz every 0.2 s, keeping each status."""
    while not stop.is_set():
        try:
            seen.append(httpx.get(f"{server.url}/readyz", timeout=10).status_code)
        except httpx.TransportError:
            seen.append(0)
        time.sleep(0.2)


def errors_other_than_503(log: Path) -> list[str]:
    """The server's error lines, but for its request lines of 503s."""
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return [
        str(line)
        for line in lines
        if line["level"] in ("error", "critical") and line.get("status") != 503
    ]


def wait_ready(server: Server) -> float:
    """Seconds until /readyz says 200 again, at most RECOVERY_LIMIT_S."""
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_LIMIT_S:
        if httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200:
            break
        time.sleep(0.1)
    return time.monotonic() - started


def test_a_postgresql_outage_under_load_is_503s_and_loses_nothing(
    tmp_path: Path, cluster: Cluster
) -> None:
    with running_server(cluster.url, tmp_path, settings=SETTINGS) as server:
        load = Load(server)
        probe_stop, probes_down, probes_after = threading.Event(), [], []
        with ThreadPoolExecutor(THREADS + 1) as pool:
            threads = [pool.submit(load.run, t) for t in range(THREADS)]
            time.sleep(WARM_UP_S)
            before = len(load.acknowledged)
            cluster.stop()
            prober = pool.submit(readiness, server, probe_stop, probes_down)
            time.sleep(OUTAGE_S)
            probe_stop.set()
            prober.result()
            during = len(load.unavailable)
            cluster.start()
            recovered_in = wait_ready(server)
            time.sleep(AFTER_S)
            load.stop.set()
            for thread in threads:
                thread.result()
        after = [Call(f"after-{n}", identified=True) for n in range(20)]
        with httpx.Client(base_url=server.url, headers=server.headers) as http:
            answers = [call.send(http).status_code for call in after]
            probes_after.append(http.get("/readyz").status_code)
        log = server.log

    stored = stored_events(cluster.url.replace("postgresql:", "postgresql+psycopg:"))
    acknowledged = {call.tracking_id for call in load.acknowledged}
    refused = {call.tracking_id for call in load.unavailable}
    lost = sorted(acknowledged - stored.keys())
    doubled = sorted(t for t, n in stored.items() if n > 1)
    _log.info(
        "sent %d calls: %d acknowledged (%d before the stop), %d answered 503 "
        "(%d of them stored: in doubt), %d other; acknowledged and lost: %d; "
        "/readyz during the outage: %s; ready again %.1f s after the start",
        load.sent,
        len(acknowledged),
        before,
        len(refused),
        len(refused & stored.keys()),
        len(load.other),
        len(lost),
        sorted(set(probes_down)),
        recovered_in,
    )
    assert before > 0 and during > 0
    assert load.other == [], "answers other than 2xx and 503"
    assert lost == [], "acknowledged, then not stored"
    assert doubled == [], "stored more than once"
    assert 503 in probes_down and 200 not in probes_down
    assert recovered_in < RECOVERY_LIMIT_S
    assert probes_after == [200]
    assert answers == [201] * len(after)
    assert errors_other_than_503(log) == []
