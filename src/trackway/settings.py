"""One typed settings object, read once at start-up from `TRACKWAY_*`.

A bad value stops start-up with a message naming the variable.
"""

import os
from collections.abc import Mapping
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec
import phonenumbers
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from trackway.domain.policy import Policy
from trackway.domain.ratelimit import MAX_LIMIT
from trackway.store.backpressure import Limits

PREFIX = "TRACKWAY_"

Positive = Annotated[int, msgspec.Meta(ge=1)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]


class SettingsError(Exception):
    """A setting has a value Trackway cannot run with."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = "sqlite:///./trackway.db"
    database_pool_size: Positive = 5
    # How long a call waits for storage (a connection, its write) before
    # a 503; the PostgreSQL connect, pool and statement timeouts.
    request_timeout_seconds: Seconds = 10.0
    # Writes of one process waiting for storage; one more is a 503 at once.
    max_pending_writes: Positive = 1000
    # How long a client may take to send a request body (then 408).
    body_timeout_seconds: Seconds = 30.0
    max_body_bytes: Positive = 1024 * 1024
    max_json_depth: Annotated[int, msgspec.Meta(ge=4, le=1000)] = 32
    session_gap_minutes: Positive = 30
    anonymous_retention_days: Positive = 30
    dedupe_window_hours: Positive = 24
    rate_limit: Annotated[int, msgspec.Meta(ge=0, le=MAX_LIMIT)] = 0
    # Where calls are counted: "memory" is this process alone; "redis" and
    # "postgresql" hold one count for every process and machine.
    rate_limit_store: Literal["memory", "redis", "postgresql"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Starts every key Trackway writes, so servers can share one Redis.
    redis_key_prefix: Annotated[str, msgspec.Meta(max_length=128)] = "trackway:"
    meta_rules: Literal["kustomer", "lenient"] = "kustomer"
    default_phone_region: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Signs the console's session cookie. Unset: a random secret per
    # process, so sign-ins end on restart and do not span processes.
    console_secret: Annotated[str, msgspec.Meta(min_length=32)] | None = None
    # Mark the console's cookie Secure (only sent over HTTPS).
    console_cookie_secure: bool = False

    def storage_limits(self) -> Limits:
        """What a server process lets wait for storage, and for how long."""
        return Limits(self.request_timeout_seconds, self.max_pending_writes)

    def policy(self) -> Policy:
        """The parts of the settings that the identity rules read."""
        return Policy(
            strict_attributes=self.meta_rules == "kustomer",
            default_phone_region=self.default_phone_region,
            session_gap_ms=self.session_gap_minutes * 60_000,
            anonymous_retention_ms=self.anonymous_retention_days * 86_400_000,
            dedupe_window_ms=self.dedupe_window_hours * 3_600_000,
        )


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def load_settings(
    environ: Mapping[str, str] | None = None, **overrides: object
) -> Settings:
    """Build settings from the environment, then from explicit overrides.

    Overrides that are None are ignored, so CLI flags left unset fall back to
    the environment.
    """
    environ = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for field in Settings.__struct_fields__:
        value = environ.get(env_name(field))
        if value is not None and value != "":
            raw[field] = value
    raw.update({k: v for k, v in overrides.items() if v is not None})
    for field, given in raw.items():
        try:
            msgspec.convert({field: given}, Settings, strict=False)
        except msgspec.ValidationError as error:
            message = str(error).split(" - at ")[0]
            raise SettingsError(f"{env_name(field)}: {message}") from None
    settings = msgspec.convert(raw, Settings, strict=False)
    _check_phone_region(settings.default_phone_region)
    _check_database_url(settings.database_url)
    _check_rate_limit_store(settings)
    return settings


def _check_database_url(url: str) -> None:
    name = env_name("database_url")
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise SettingsError(f"{name}: {url!r} is not a database URL") from None
    if backend not in ("sqlite", "postgresql"):
        raise SettingsError(
            f"{name}: Trackway stores data in SQLite (sqlite:///path/to/file.db) "
            f"or PostgreSQL (postgresql://user@host/db), not {backend}"
        )


def _check_rate_limit_store(settings: Settings) -> None:
    name = env_name("rate_limit_store")
    if settings.rate_limit_store == "postgresql":
        backend = make_url(settings.database_url).get_backend_name()
        if backend != "postgresql":
            raise SettingsError(
                f"{name}: postgresql counts in the server's database, which is"
                f" {backend} here; use memory (one process) or redis"
            )
    if settings.rate_limit_store == "redis":
        scheme = urlsplit(settings.redis_url).scheme
        if scheme not in ("redis", "rediss", "unix"):
            raise SettingsError(
                f"{env_name('redis_url')}: {settings.redis_url!r} is not a Redis"
                " URL such as redis://127.0.0.1:6379/0"
            )


def _check_phone_region(region: str | None) -> None:
    if region is None:
        return
    if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        name = env_name("default_phone_region")
        raise SettingsError(f"{name}: {region!r} is not a known region code")
