"""How the console writes values for a person to read."""

from decimal import Decimal

import pytest

from trackway.console.views import change_text, duration_text, utc_text, value_text
from trackway.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "0 s"), (59_999, "59 s"), (252_000, "4 min 12 s"), (3_900_000, "1 h 5 min")],
)
def test_durations_read_in_hours_minutes_and_seconds(ms: int, text: str) -> None:
    assert duration_text(ms) == text


def test_utc_text_writes_the_moment_to_the_second() -> None:
    assert utc_text(1_710_325_274_999) == "2024-03-13 10:21:14"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("pro", "pro"),
        (Decimal("9007199254740993.10"), "9007199254740993.10"),
        (3, "3"),
        (True, "true"),
        (None, "null"),
        ({"a": [1, "b"]}, '{"a":[1,"b"]}'),
    ],
)
def test_stored_values_show_strings_as_they_are_and_the_rest_as_json(
    value: object, text: str
) -> None:
    assert value_text(value) == text


def test_a_console_secret_shorter_than_32_characters_stops_start_up() -> None:
    environ = {"TRACKWAY_CONSOLE_SECRET": "too-short"}

    with pytest.raises(SettingsError, match="TRACKWAY_CONSOLE_SECRET"):
        load_settings(environ)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (["beta", "vip"], "beta, vip"),
        (
            [{"type": "other", "email": "a@example.com", "verified": False}],
            "a@example.com",
        ),
        (
            [{"type": "home", "phone": "+14155550100", "verified": False}],
            "+14155550100",
        ),
        (
            [{"type": "home", "cityName": "Lyon", "countryName": "France"}],
            "Lyon, France",
        ),
        ("pro", "pro"),
    ],
)
def test_changed_lists_read_as_their_items(value: object, text: str) -> None:
    assert change_text(value) == text
