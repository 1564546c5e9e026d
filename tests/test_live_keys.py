"""A key that stops being valid stops working at once, in every process.

`trackway serve --workers 4` on PostgreSQL: the calls go on new
connections until each worker has answered, which the test knows by
finding the process that holds the server end of each connection (in
/proc, so on Linux). Every worker first answers the key, then, once it
is revoked through the CLI (or its expiry passes), every worker refuses
it: each call after the change is a 401, with no grace period.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from live import Server, running_server
from trackway.domain import roles
from trackway.store import accounts
from trackway.store.database import Database

WORKERS = 4
# New connections needed, at most, before every worker has answered.
MAX_CALLS = 400
READ = "/v1/rejected"
# The state column of /proc/net/tcp for an established connection.
_ESTABLISHED = "01"

pytestmark = [
    pytest.mark.live,
    pytest.mark.long,
    pytest.mark.skipif(sys.platform != "linux", reason="reads /proc"),
]


@pytest.fixture
def server(tmp_path: Path, postgres_database_url: str) -> Iterator[Server]:
    with running_server(postgres_database_url, tmp_path, WORKERS) as running:
        yield running


def reader_key(url: str, expires_at: int | None = None) -> str:
    """A new key of the server's org that may read GET /v1/rejected."""
    database = Database(url)
    try:
        [org] = accounts.list_orgs(database)
        return accounts.create_key(
            database, org.org_id, [roles.CUSTOMER_READ], expires_at=expires_at
        )
    finally:
        database.dispose()


def workers_of(server: Server) -> set[int]:
    """The pids of the server's worker processes (its children spawned by
    multiprocessing, not its resource tracker)."""
    children = {
        pid
        for pid in _children(server.process.pid)
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    }
    assert len(children) == WORKERS, children
    return children


def each(workers: set[int], status: int) -> dict[int, set[int]]:
    return {pid: {status} for pid in workers}


def answers_of_every_worker(server: Server, key: str) -> dict[int, set[int]]:
    """Statuses of GET /v1/rejected with `key`, by the worker that answered,
    once every worker has answered at least once."""
    workers = workers_of(server)
    seen: dict[int, set[int]] = {}
    for _ in range(MAX_CALLS):
        pid, status = _call(server, key, workers)
        seen.setdefault(pid, set()).add(status)
        if set(seen) == workers:
            return seen
    pytest.fail(f"only workers {sorted(seen)} of {sorted(workers)} answered")


def test_a_revoked_key_is_refused_at_once_by_every_worker(server: Server) -> None:
    key = reader_key(server.environ["TRACKWAY_DATABASE_URL"])
    everyone = workers_of(server)
    assert answers_of_every_worker(server, key) == each(everyone, 200)

    revoke = [sys.executable, "-m", "trackway", "keys", "revoke", key[3:27]]
    subprocess.run(revoke, env=server.environ, check=True, capture_output=True)
    after = answers_of_every_worker(server, key)

    assert after == each(everyone, 401)


def test_an_expired_key_is_refused_at_once_by_every_worker(server: Server) -> None:
    expires_at = int(time.time() * 1000) + 5000
    key = reader_key(server.environ["TRACKWAY_DATABASE_URL"], expires_at)
    everyone = workers_of(server)
    assert answers_of_every_worker(server, key) == each(everyone, 200)

    time.sleep(max(0.0, expires_at / 1000 - time.time()))
    after = answers_of_every_worker(server, key)

    assert after == each(everyone, 401)


def _call(server: Server, key: str, workers: set[int]) -> tuple[int, int]:
    """One call on a new connection: the worker that answered, and how."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        response = http.get(READ)
        stream = response.extensions["network_stream"]
        _, client_port = stream.get_extra_info("client_addr")
        _, server_port = stream.get_extra_info("server_addr")
        return _holder(server_port, client_port, workers), response.status_code


def _holder(server_port: int, client_port: int, workers: set[int]) -> int:
    """The worker holding the server end of the connection from `client_port`."""
    inode = _server_socket(server_port, client_port)
    for pid in workers:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:
                continue
            if target == f"socket:[{inode}]":
                return pid
    pytest.fail(f"no worker holds the connection from port {client_port}")


def _server_socket(server_port: int, client_port: int) -> str:
    """The inode of the server's established socket whose peer is
    `client_port`. Both ends are matched: Linux gives the same ephemeral
    port to connections bound elsewhere (a worker's to PostgreSQL, say),
    and an earlier connection may linger, closed, with inode 0."""
    local = f"0100007F:{server_port:04X}"
    peer = f"0100007F:{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1:4] == [local, peer, _ESTABLISHED]:
            return fields[9]
    pytest.fail(f"no server socket for the connection from port {client_port}")


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        found.update(int(child) for child in text.split())
    return found
