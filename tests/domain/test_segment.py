"""Segment messages in Trackway's words: times, visitors, traits."""

import pytest

from trackway.domain.errors import Invalid
from trackway.domain.segment import (
    event_moment,
    identify_parts,
    identify_traits,
    session_of,
    visitor_of,
)
from trackway.domain.times import parse_datetime

RECEIVED = parse_datetime("2026-12-03T10:00:00Z", "now")


def at(text: str) -> int:
    return parse_datetime(text, "test")


class TestEventMoment:
    def test_sent_at_moves_the_timestamp_by_the_clients_clock_error(self) -> None:
        moment = event_moment("2026-12-03T11:55:00Z", "2026-12-03T12:00:00Z", RECEIVED)

        assert moment.at == at("2026-12-03T09:55:00Z")
        assert moment.clamped_from is None

    def test_offsets_are_honoured_and_their_absence_means_utc(self) -> None:
        with_offset = event_moment("2026-12-03T10:30:00+02:00", None, RECEIVED)
        without = event_moment("2026-12-03T08:30:00", None, RECEIVED)

        assert with_offset.at == without.at == at("2026-12-03T08:30:00Z")

    def test_a_future_time_is_clamped_to_the_receive_time(self) -> None:
        moment = event_moment("2026-12-03T10:00:00.001Z", None, RECEIVED)

        assert moment.at == RECEIVED
        assert moment.clamped_from == "2026-12-03T10:00:00.001Z"

    def test_no_timestamp_means_the_receive_time(self) -> None:
        assert event_moment(None, None, RECEIVED).at == RECEIVED

    @pytest.mark.parametrize(
        "timestamp, sent_at",
        [("0", None), ("2026-13-01T00:00:00Z", None), (None, "soon")],
    )
    def test_an_unreadable_time_is_invalid(
        self, timestamp: str | None, sent_at: str | None
    ) -> None:
        with pytest.raises(Invalid):
            event_moment(timestamp, sent_at, RECEIVED)


def test_a_message_without_anonymous_id_speaks_for_its_user() -> None:
    assert visitor_of(None, "u-1") == "u-1"
    assert visitor_of("a-1", "u-1") == "a-1"


def test_a_message_naming_nobody_is_invalid() -> None:
    with pytest.raises(Invalid):
        visitor_of(None, None)


def test_an_integer_session_id_is_read_as_its_digits() -> None:
    assert session_of({"sessionId": 1733220000000}) == "1733220000000"
    assert session_of({"kustomer_session_id": "k", "sessionId": "s"}) == "k"
    assert session_of({"other": 1}) is None


def test_a_session_id_that_is_an_object_is_invalid() -> None:
    with pytest.raises(Invalid):
        session_of({"sessionId": {"id": 1}})


def test_message_traits_win_over_context_traits() -> None:
    merged = identify_traits({"plan": "pro"}, {"traits": {"plan": "free", "a": 1}})

    assert merged == {"plan": "pro", "a": 1}


def test_unknown_traits_go_to_custom_and_known_ones_to_fields() -> None:
    parts = identify_parts(
        "u-1",
        {"email": "j@example.com", "createdAt": "2024-01-01", "logins": 5},
        {"locale": "pt-BR"},
    )

    assert parts.body == {
        "externalId": "u-1",
        "email": "j@example.com",
        "signedUpAt": "2024-01-01",
        "locale": "pt-BR",
    }
    assert parts.custom == {"logins": 5}
    assert parts.sources["signedUpAt"] == "traits.createdAt"


def test_more_than_a_hundred_custom_traits_is_invalid() -> None:
    traits = {f"t{n}": n for n in range(101)}

    with pytest.raises(Invalid):
        identify_parts("u-1", traits, {})
