"""Reading dates and date-times (SPEC 4.2), writing `...Z` times (SPEC 1)."""

from typing import Any

import pytest

from trackway.domain.errors import Invalid
from trackway.domain.times import (
    canonical_datetime,
    check_event_time,
    format_ms,
    parse_date,
    parse_datetime,
)

# 2026-12-03T10:00:00.000Z
T0 = 1_796_292_000_000


def problem_of(error: pytest.ExceptionInfo[Invalid]) -> tuple[str, str | None]:
    [problem] = error.value.problems
    return problem.detail, problem.pointer


class TestFormat:
    def test_times_are_written_in_utc_with_milliseconds_and_z(self) -> None:
        assert format_ms(T0) == "2026-12-03T10:00:00.000Z"

    def test_milliseconds_are_kept(self) -> None:
        assert format_ms(T0 + 7) == "2026-12-03T10:00:00.007Z"


class TestDateTime:
    @pytest.mark.parametrize(
        "value",
        [
            "2026-12-03T10:00:00.000Z",
            "2026-12-03T10:00:00Z",
            "2026-12-03T11:00:00+01:00",
            "2026-12-03T05:00:00-0500",
            "2026-12-03T10:00Z",
        ],
    )
    def test_date_time_with_an_offset_is_read_as_that_moment(self, value: str) -> None:
        assert parse_datetime(value, "signedUpAt") == T0

    @pytest.mark.parametrize("value", ["2026-12-03T10:00:00", "2026-12-03 10:00"])
    def test_date_time_without_an_offset_is_read_as_utc(self, value: str) -> None:
        assert parse_datetime(value, "signedUpAt") == T0

    def test_fraction_beyond_microseconds_is_cut_not_refused(self) -> None:
        value = "2026-12-03T10:00:00.123456789Z"

        assert parse_datetime(value, "signedUpAt") == T0 + 123

    def test_signed_up_at_has_a_canonical_form(self) -> None:
        value = "2026-12-03T12:30:00.5+02:30"

        assert canonical_datetime(value, "signedUpAt") == "2026-12-03T10:00:00.500Z"

    @pytest.mark.parametrize(
        "value",
        [
            "2023-02-30T10:00:00Z",
            "2023-13-01T10:00:00Z",
            "2023-01-01T24:00:00Z",
            "2023-01-01T10:00:00+25:00",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:30:00-01:00",
        ],
    )
    def test_impossible_date_time_is_invalid_naming_the_field(self, value: str) -> None:
        with pytest.raises(Invalid) as error:
            parse_datetime(value, "signedUpAt", "/signedUpAt")

        detail, pointer = problem_of(error)
        assert detail == "signedUpAt is not a valid date-time"
        assert pointer == "/signedUpAt"

    @pytest.mark.parametrize(
        "value",
        [1796292000000, "2026-12-03", "03/12/2026 10:00", "yesterday", None, ""],
    )
    def test_other_formats_and_numbers_are_invalid(self, value: Any) -> None:
        with pytest.raises(Invalid) as error:
            parse_datetime(value, "signedUpAt", "/signedUpAt")

        assert problem_of(error) == (
            "signedUpAt must be an ISO-8601 date-time",
            "/signedUpAt",
        )

    def test_trailing_newline_is_invalid(self) -> None:
        with pytest.raises(Invalid):
            parse_datetime("2026-12-03T10:00:00Z\n", "signedUpAt")


class TestDate:
    def test_date_only_birthday_is_kept(self) -> None:
        assert parse_date("1992-07-04", "birthdayAt") == "1992-07-04"

    @pytest.mark.parametrize(
        "value",
        [
            "1992-07-04T23:30:00-05:00",
            "1992-07-04T00:30:00+14:00",
            "1992-07-04T12:00:00",
        ],
    )
    def test_date_time_birthday_keeps_its_written_date(self, value: str) -> None:
        assert parse_date(value, "birthdayAt") == "1992-07-04"

    @pytest.mark.parametrize("value", ["2023-02-30", "2023-13-01", "0000-00-00"])
    def test_impossible_calendar_date_is_invalid(self, value: str) -> None:
        with pytest.raises(Invalid) as error:
            parse_date(value, "birthdayAt", "/birthdayAt")

        assert problem_of(error) == (
            "birthdayAt is not a valid calendar date",
            "/birthdayAt",
        )

    @pytest.mark.parametrize("value", ["15/05/1985", "1985-5-15", 19850515, "May 15"])
    def test_other_date_formats_and_numbers_are_invalid(self, value: Any) -> None:
        with pytest.raises(Invalid) as error:
            parse_date(value, "birthdayAt", "/birthdayAt")

        detail, pointer = problem_of(error)
        assert detail == "birthdayAt must be a date (YYYY-MM-DD) or date-time"
        assert pointer == "/birthdayAt"

    def test_date_time_birthday_on_an_impossible_day_is_invalid(self) -> None:
        with pytest.raises(Invalid, match="birthdayAt"):
            parse_date("2023-02-30T10:00:00Z", "birthdayAt")


def test_an_event_time_must_fall_between_1970_and_a_day_ahead() -> None:
    now = 1_796_292_000_000
    day = 86_400_000

    assert check_event_time(0, now, "at") == 0
    assert check_event_time(now + day, now, "at") == now + day
    for refused in (-1, now + day + 1):
        with pytest.raises(Invalid):
            check_event_time(refused, now, "at")
