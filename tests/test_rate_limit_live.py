"""The rate limit holds across the processes of `trackway serve --workers 2`
when they count in a shared store (Redis or PostgreSQL)."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from live import Server, running_server

pytestmark = pytest.mark.live

LIMIT = 20
EXTRA = 10
# A run takes a second or two; start it where it cannot cross a minute.
SECONDS_NEEDED = 15


def wait_for_a_fresh_window() -> None:
    left = 60 - time.time() % 60
    if left < SECONDS_NEEDED:
        time.sleep(left + 0.2)


def post_event(server: Server) -> tuple[int, int]:
    """The status of one call on a connection of its own, and its minute."""
    answer = httpx.post(
        f"{server.url}/v1/tracking/event",
        json={"name": "page-viewed"},
        headers={**server.headers, "Connection": "close"},
        timeout=30,
    )
    return answer.status_code, int(time.time() // 60)


@pytest.mark.parametrize("store", ["redis", "postgresql"])
def test_two_processes_admit_exactly_the_limit_in_a_window(
    store: str,
    postgres_database_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    settings = {
        "TRACKWAY_RATE_LIMIT": str(LIMIT),
        "TRACKWAY_RATE_LIMIT_STORE": store,
    }
    if store == "redis":
        settings["TRACKWAY_REDIS_KEY_PREFIX"] = request.getfixturevalue("redis_prefix")
    with running_server(
        postgres_database_url, tmp_path, workers=2, settings=settings
    ) as server:
        wait_for_a_fresh_window()

        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda _: post_event(server), range(LIMIT + EXTRA)))

    statuses = sorted(status for status, _ in answers)
    assert len({minute for _, minute in answers}) == 1, "the calls crossed a minute"
    assert statuses == [204] * LIMIT + [429] * EXTRA
