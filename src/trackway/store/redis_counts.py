"""Calls per window counted in Redis, shared by every server process.

Each call is one round trip: a MULTI/EXEC pipeline that increments the
key of (org, subject, window) and sets it to expire two windows later, so
Redis forgets old windows by itself. The key reads
`<prefix>ratelimit:<org>:<subject>:<window start>`.

Timeouts are short and the client does not retry: the limiter serves the
call uncounted when Redis does not answer, rather than make it wait.
"""

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from trackway.domain.ratelimit import WINDOW_S, Allowance, CounterUnavailable

TIMEOUT_S = 0.5


class RedisCounts:
    """The limiter's counter on a Redis server."""

    name = "redis"

    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self._redis = Redis.from_url(
            url,
            socket_timeout=TIMEOUT_S,
            socket_connect_timeout=TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
        )

    def key(self, allowance: Allowance, window_start: int) -> str:
        subject = f"{allowance.org_id}:{allowance.subject}"
        return f"{self.prefix}ratelimit:{subject}:{window_start}"

    async def add(self, allowance: Allowance, window_start: int) -> int:
        key = self.key(allowance, window_start)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, 2 * WINDOW_S)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as error:
            raise CounterUnavailable(type(error).__name__) from error
        return int(count)

    async def close(self) -> None:
        await self._redis.aclose()
