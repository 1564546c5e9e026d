"""A 2xx answer means the call is committed: a crash right after loses nothing.

A server of one worker is killed with SIGKILL while eight threads send it
tracking calls, then started again on the same database. Each call speaks
for a visitor of its own (its trackingId), so what is stored can be told
apart call by call:

- every call answered with a 2xx is stored, exactly once;
- a call cut off without an answer may or may not be stored, at most once;
- a call that never reached the server is not stored.

The restarted server starts without an error on what the kill left behind
and takes new calls.
"""

import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from live import Server, running_server

pytestmark = pytest.mark.live

_log = logging.getLogger(__name__)

THREADS = 8
KILL_AFTER = 200
"""Acknowledged calls after which the server is killed."""
MAX_CALLS = 4_000
"""A bound on the load, should the kill never come."""
LOAD_TIMEOUT_S = 30.0
"""A generous bound for reaching KILL_AFTER on a loaded machine."""


@dataclass(frozen=True)
class Call:
    """One tracking call, told apart from every other by its visitor."""

    tracking_id: str
    identified: bool
    """An identityEvent with an email of its own, else an anonymous event."""

    @property
    def email(self) -> str:
        return f"{self.tracking_id}@example.com"

    def send(self, http: httpx.Client) -> httpx.Response:
        if self.identified:
            identity = {"trackingId": self.tracking_id, "email": self.email}
            body = {"identity": identity, "event": {"name": "order-placed"}}
            return http.post("/v1/tracking/identityEvent", json=body)
        event = {"trackingId": self.tracking_id, "name": "page-viewed"}
        return http.post("/v1/tracking/event", json=event)


def calls_of(thread: int) -> Iterator[Call]:
    """The calls one thread sends: identityEvent and event in turn."""
    for n in range(MAX_CALLS // THREADS):
        yield Call(f"v-{thread}-{n}", identified=n % 2 == 0)


class Load:
    """Calls from THREADS threads, each filed by how it ended."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.acknowledged: list[Call] = []
        self.unanswered: list[Call] = []
        """Sent, then cut off without an answer."""
        self.unsent: list[Call] = []
        """Refused a connection: the server was gone (the thread stops)."""
        self.refused: list[str] = []
        """Answers other than 2xx."""
        self._enough = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def sent(self) -> int:
        return len(self.acknowledged) + len(self.unanswered) + len(self.refused)

    def kill_midway(self) -> bool:
        """Sends the calls and kills the server once KILL_AFTER of them
        are acknowledged, with the others in flight; False when that
        took more than LOAD_TIMEOUT_S."""
        with ThreadPoolExecutor(THREADS) as pool:
            threads = [pool.submit(self._send_all, t) for t in range(THREADS)]
            reached = self._enough.wait(LOAD_TIMEOUT_S)
            self.server.kill()
            self._stop.set()
        for thread in threads:
            thread.result()
        return reached

    def _send_all(self, thread: int) -> None:
        with client_of(self.server) as http:
            for call in calls_of(thread):
                if self._stop.is_set() or not self._send(http, call):
                    return

    def _send(self, http: httpx.Client, call: Call) -> bool:
        """Sends one call and files it; False when the server is gone."""
        try:
            response = call.send(http)
        except httpx.ConnectError:
            self._file(self.unsent, call)
            return False
        except httpx.TransportError:
            self._file(self.unanswered, call)
        else:
            if response.is_success:
                self._file(self.acknowledged, call)
            else:
                answer = f"{response.status_code} {response.text}"
                self._file(self.refused, answer)
        return True

    def _file(self, outcomes: list[Any], outcome: Any) -> None:
        with self._lock:
            outcomes.append(outcome)
            if len(self.acknowledged) >= KILL_AFTER:
                self._enough.set()


def stored_events(database_url: str) -> Counter[str]:
    """How many tracking events are stored for each trackingId."""
    query = text(
        "SELECT tracking_id, count(*) FROM events "
        "WHERE kind = 'tracking' GROUP BY tracking_id"
    )
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    finally:
        engine.dispose()
    return Counter({tracking_id: count for tracking_id, count in rows})


def client_of(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.headers, timeout=30)


def timelines(http: httpx.Client, calls: list[Call]) -> dict[str, list[str]]:
    """For each identified call, the trackingIds of the tracking events in
    the timeline of the customer with its email (none: no such customer)."""
    return {
        call.tracking_id: timeline_of(http, call.email)
        for call in calls
        if call.identified
    }


def timeline_of(http: httpx.Client, email: str) -> list[str]:
    found = http.get(f"/v1/customers/email={email}")
    if found.status_code == 404:
        return []
    assert found.status_code == 200, found.text
    customer_id = found.json()["data"]["id"]
    timeline = http.get(f"/v1/customers/{customer_id}/timeline?limit=100")
    assert timeline.status_code == 200, timeline.text
    return [
        item["attributes"]["trackingId"]
        for item in timeline.json()["data"]
        if "trackingEvent" in item["attributes"]
    ]


def errors_in(log: Path) -> list[str]:
    """The lines of a server's JSON log at level error or above."""
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return [str(line) for line in lines if line["level"] in ("error", "critical")]


def report(load: Load, stored: Counter[str]) -> None:
    """The figures of the run, in the log pytest shows on a failure."""
    acknowledged = {call.tracking_id for call in load.acknowledged}
    unanswered = {call.tracking_id for call in load.unanswered}
    _log.info(
        "sent %d calls: %d acknowledged, of which %d stored; %d cut off, "
        "of which %d stored; %d refused a connection after the kill",
        load.sent,
        len(acknowledged),
        len(acknowledged & stored.keys()),
        len(unanswered),
        len(unanswered & stored.keys()),
        len(load.unsent),
    )


def test_every_call_answered_2xx_is_stored_once_after_a_kill(
    tmp_path: Path, blank_database_url: str
) -> None:
    new_call = Call("after-restart", identified=True)
    with running_server(blank_database_url, tmp_path) as server:
        load = Load(server)

        reached = load.kill_midway()

    with running_server(blank_database_url, tmp_path, key=server.key) as restarted:
        stored = stored_events(blank_database_url)
        with client_of(restarted) as http:
            readable = timelines(http, load.acknowledged)
            new_answer = new_call.send(http)
            new_readable = timelines(http, [new_call])

    report(load, stored)
    acknowledged = {call.tracking_id for call in load.acknowledged}
    unanswered = {call.tracking_id for call in load.unanswered}
    lost = sorted(acknowledged - stored.keys())
    doubled = sorted(t for t, count in stored.items() if count > 1)
    never_received = sorted(stored.keys() - acknowledged - unanswered)
    unreadable = sorted(t for t, found in readable.items() if found != [t])
    assert reached, f"{len(acknowledged)} calls acknowledged in {LOAD_TIMEOUT_S} s"
    assert load.refused == []
    assert unanswered, "the kill cut no call off in flight"
    assert lost == [], "acknowledged, then not stored"
    assert doubled == [], "stored more than once"
    assert never_received == [], "stored, never received"
    assert unreadable == [], "not in its customer's timeline"
    assert errors_in(restarted.log) == []
    assert new_answer.status_code == 201, new_answer.text
    assert new_readable == {"after-restart": ["after-restart"]}
