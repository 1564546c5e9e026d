"""Settings: read once from TRACKWAY_*; a bad value names its variable."""

import pytest

from trackway.settings import SettingsError, load_settings


def test_empty_environment_gives_the_documented_defaults() -> None:
    settings = load_settings({})

    assert settings.database_url == "sqlite:///./trackway.db"
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.max_json_depth == 32
    assert settings.session_gap_minutes == 30
    assert settings.anonymous_retention_days == 30
    assert settings.dedupe_window_hours == 24
    assert settings.rate_limit == 0
    assert settings.rate_limit_store == "memory"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.redis_key_prefix == "trackway:"
    assert settings.meta_rules == "kustomer"
    assert settings.default_phone_region is None
    assert settings.log_level == "info"


def test_variables_are_converted_to_their_types() -> None:
    environ = {
        "TRACKWAY_MAX_BODY_BYTES": "2048",
        "TRACKWAY_META_RULES": "lenient",
        "TRACKWAY_DEFAULT_PHONE_REGION": "US",
    }

    settings = load_settings(environ)

    assert settings.max_body_bytes == 2048
    assert settings.meta_rules == "lenient"
    assert settings.default_phone_region == "US"


def test_empty_variable_means_the_default() -> None:
    settings = load_settings({"TRACKWAY_SESSION_GAP_MINUTES": ""})

    assert settings.session_gap_minutes == 30


def test_flag_overrides_the_variable() -> None:
    environ = {"TRACKWAY_DATABASE_URL": "sqlite:///env.db"}

    settings = load_settings(environ, database_url="sqlite:///flag.db")

    assert settings.database_url == "sqlite:///flag.db"


def test_flag_left_unset_keeps_the_variable() -> None:
    environ = {"TRACKWAY_DATABASE_URL": "sqlite:///env.db"}

    settings = load_settings(environ, database_url=None)

    assert settings.database_url == "sqlite:///env.db"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRACKWAY_MAX_BODY_BYTES", "a lot"),
        ("TRACKWAY_MAX_BODY_BYTES", "0"),
        ("TRACKWAY_MAX_JSON_DEPTH", "2"),
        ("TRACKWAY_SESSION_GAP_MINUTES", "-5"),
        ("TRACKWAY_ANONYMOUS_RETENTION_DAYS", "1.5"),
        ("TRACKWAY_DEDUPE_WINDOW_HOURS", "0"),
        ("TRACKWAY_RATE_LIMIT", "-1"),
        ("TRACKWAY_RATE_LIMIT_STORE", "memcached"),
        ("TRACKWAY_RATE_LIMIT_STORE", "postgresql"),  # on the SQLite default
        ("TRACKWAY_META_RULES", "loose"),
        ("TRACKWAY_DEFAULT_PHONE_REGION", "XX"),
        ("TRACKWAY_LOG_LEVEL", "loud"),
        ("TRACKWAY_DATABASE_URL", "garbage"),
        ("TRACKWAY_DATABASE_URL", "mysql://localhost/trackway"),
    ],
)
def test_bad_value_is_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({variable: value})

    assert str(raised.value).startswith(f"{variable}: ")


def test_bad_flag_is_refused_naming_its_variable() -> None:
    with pytest.raises(SettingsError, match=r"^TRACKWAY_SESSION_GAP_MINUTES: "):
        load_settings({}, session_gap_minutes=0)


def test_a_redis_store_needs_a_redis_url() -> None:
    environ = {
        "TRACKWAY_RATE_LIMIT_STORE": "redis",
        "TRACKWAY_REDIS_URL": "http://cache:6379",
    }

    with pytest.raises(SettingsError, match=r"^TRACKWAY_REDIS_URL: .*redis://"):
        load_settings(environ)


def test_a_postgresql_store_counts_in_a_postgresql_database() -> None:
    environ = {
        "TRACKWAY_RATE_LIMIT_STORE": "postgresql",
        "TRACKWAY_DATABASE_URL": "postgresql://db/trackway",
    }

    assert load_settings(environ).rate_limit_store == "postgresql"
