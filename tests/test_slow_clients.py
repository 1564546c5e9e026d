"""200 clients trickling their bodies do not slow anyone else, and are cut off.

Each slow client sends a tracking call's headers with a Content-Length,
then one byte of the body a second (a slowloris). Meanwhile one ordinary
client sends calls one after another. The ordinary calls are all answered
with their usual latency, and each slow client gets a 408 (or a closed
connection) once TRACKWAY_BODY_TIMEOUT_SECONDS has passed.
"""

import asyncio
import logging
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from backends import sqlite_url
from live import Server, running_server

pytestmark = [pytest.mark.live, pytest.mark.long]

_log = logging.getLogger(__name__)

SLOW_CLIENTS = 200
BODY_TIMEOUT_S = 5.0
CUT_OFF_WITHIN_S = BODY_TIMEOUT_S + 5.0
"""How long a slow client may last at most, with room for a busy machine."""
ORDINARY_FOR_S = 8.0
SETTINGS = {"TRACKWAY_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_S)}


@dataclass
class SlowOutcome:
    lasted_s: float
    answer: str
    """The status line, or "closed" when the server just hung up."""


@dataclass
class Ordinary:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def trickle(server: Server) -> SlowOutcome:
    """One slow client: headers, then a byte a second until cut off."""
    host, port = server.url.removeprefix("http://").split(":")
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        "POST /v1/tracking/event HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"Authorization: Bearer {server.key}\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n"
    )
    writer.write(head.encode())
    answer = asyncio.create_task(reader.readline())
    try:
        while not answer.done() and time.monotonic() - started < 2 * CUT_OFF_WITHIN_S:
            try:
                writer.write(b" ")
                await writer.drain()
            except ConnectionError:
                break
            await asyncio.wait([answer], timeout=1.0)
        line = (await asyncio.wait_for(answer, 5)).decode().strip()
    finally:
        writer.close()
    return SlowOutcome(time.monotonic() - started, line or "closed")


async def slowloris(server: Server) -> list[SlowOutcome]:
    return await asyncio.gather(*(trickle(server) for _ in range(SLOW_CLIENTS)))


def ordinary_calls(server: Server, ordinary: Ordinary) -> None:
    """Calls one after another for ORDINARY_FOR_S, timing each."""
    ends = time.monotonic() + ORDINARY_FOR_S
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=10) as http:
        while time.monotonic() < ends:
            started = time.monotonic()
            response = http.post("/v1/tracking/event", json={"name": "page-viewed"})
            ordinary.latencies.append(time.monotonic() - started)
            if response.status_code != 204:
                ordinary.failures.append(f"{response.status_code} {response.text}")


def test_slow_bodies_neither_slow_others_nor_hold_the_server(tmp_path: Path) -> None:
    """On SQLite only: the HTTP layer is the same on both backends."""
    url = sqlite_url(tmp_path)
    with running_server(url, tmp_path, settings=SETTINGS) as server:
        ordinary = Ordinary()
        alongside = threading.Thread(target=ordinary_calls, args=(server, ordinary))
        time.sleep(0.5)
        alongside.start()
        slow = asyncio.run(slowloris(server))
        alongside.join()

    answers = sorted({outcome.answer for outcome in slow})
    longest = max(outcome.lasted_s for outcome in slow)
    latencies = sorted(ordinary.latencies)
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99)]
    _log.info(
        "%d slow clients: answers %s, the longest lasted %.1f s; %d ordinary "
        "calls, %d failed, p50 %.1f ms, p99 %.1f ms, max %.1f ms",
        len(slow),
        answers,
        longest,
        len(latencies),
        len(ordinary.failures),
        p50 * 1000,
        p99 * 1000,
        latencies[-1] * 1000,
    )
    assert answers == ["HTTP/1.1 408 Request Timeout"]
    assert BODY_TIMEOUT_S <= longest < CUT_OFF_WITHIN_S
    assert ordinary.failures == []
    assert len(latencies) >= 50
    assert p99 < 0.5
