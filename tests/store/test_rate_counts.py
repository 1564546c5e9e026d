"""The rate limit's shared counters: an upsert on PostgreSQL, and Redis.

Both must count the calls of every process exactly: each call gets the
window's count after it, and concurrent calls never get the same one.
"""

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from sqlalchemy import select

from backends import REDIS_URL, PostgresDatabases
from trackway.domain.ratelimit import ORG, Allowance, CounterUnavailable
from trackway.store.database import Database
from trackway.store.rate_counts import count_call, forget_old_counts
from trackway.store.redis_counts import RedisCounts
from trackway.store.tables import rate_counts

ACME = Allowance("0123456789abcdef01234567", ORG, 10)
ACME_KEY = Allowance(ACME.org_id, "89abcdef0123456789abcdef", 5)


@pytest.fixture
def postgres(postgres_databases: PostgresDatabases) -> Iterator[Database]:
    url = postgres_databases.migrated()
    database = Database(url)
    yield database
    database.dispose()
    postgres_databases.drop(url)


def windows_held(database: Database) -> list[tuple[str, int, int]]:
    query = select(
        rate_counts.c.subject, rate_counts.c.window_start, rate_counts.c.count
    ).order_by(rate_counts.c.subject, rate_counts.c.window_start)
    with database.read() as connection:
        return [tuple(row) for row in connection.execute(query).all()]


class TestPostgresCounts:
    def test_each_call_gets_the_window_s_count_after_it(
        self, postgres: Database
    ) -> None:
        counts = [count_call(postgres, ACME, 120) for _ in range(3)]

        assert counts == [1, 2, 3]

    def test_an_org_and_its_key_are_counted_apart(self, postgres: Database) -> None:
        count_call(postgres, ACME, 120)

        assert count_call(postgres, ACME_KEY, 120) == 1
        assert count_call(postgres, ACME, 120) == 2

    def test_concurrent_calls_each_get_a_count_of_their_own(
        self, postgres: Database
    ) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            counts = list(pool.map(lambda _: count_call(postgres, ACME, 0), range(40)))

        assert sorted(counts) == list(range(1, 41))

    def test_a_new_window_forgets_its_subject_s_older_ones(
        self, postgres: Database
    ) -> None:
        count_call(postgres, ACME, 60)
        count_call(postgres, ACME_KEY, 60)

        count_call(postgres, ACME, 120)

        assert windows_held(postgres) == [
            (ACME_KEY.subject, 60, 1),
            (ORG, 120, 1),
        ]

    def test_housekeeping_forgets_windows_that_ended(self, postgres: Database) -> None:
        count_call(postgres, ACME, 60)
        count_call(postgres, ACME_KEY, 120)

        with postgres.write() as connection:
            forget_old_counts(connection, ACME.org_id, now_s=175)

        assert windows_held(postgres) == [(ACME_KEY.subject, 120, 1)]


@pytest.fixture
def redis_counts(redis_prefix: str) -> RedisCounts:
    return RedisCounts(REDIS_URL, redis_prefix)


class TestRedisCounts:
    def test_each_call_gets_the_window_s_count_after_it(
        self, redis_counts: RedisCounts
    ) -> None:
        async def three_calls() -> list[int]:
            counts = [await redis_counts.add(ACME, 120) for _ in range(3)]
            await redis_counts.close()
            return counts

        assert asyncio.run(three_calls()) == [1, 2, 3]

    def test_concurrent_calls_each_get_a_count_of_their_own(
        self, redis_counts: RedisCounts
    ) -> None:
        async def many_calls() -> list[int]:
            calls = [redis_counts.add(ACME, 0) for _ in range(50)]
            counts = await asyncio.gather(*calls)
            await redis_counts.close()
            return counts

        assert sorted(asyncio.run(many_calls())) == list(range(1, 51))

    def test_a_window_s_key_expires_after_two_windows(
        self, redis_counts: RedisCounts, redis_prefix: str
    ) -> None:
        async def one_call() -> None:
            await redis_counts.add(ACME_KEY, 120)
            await redis_counts.close()

        asyncio.run(one_call())

        key = f"{redis_prefix}ratelimit:{ACME.org_id}:{ACME_KEY.subject}:120"
        client = redis.Redis.from_url(REDIS_URL)
        assert 110 < client.ttl(key) <= 120
        assert client.get(key) == b"1"
        client.close()

    def test_a_redis_that_does_not_answer_fails_fast(self) -> None:
        # Port 1 on loopback: nothing listens, the connection is refused.
        counts = RedisCounts("redis://127.0.0.1:1/0", "trackway-test:")

        async def one_call() -> None:
            try:
                await counts.add(ACME, 0)
            finally:
                await counts.close()

        started = time.monotonic()
        with pytest.raises(CounterUnavailable):
            asyncio.run(one_call())

        assert time.monotonic() - started < 1.0
