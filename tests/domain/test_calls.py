"""From decoded bodies to validated calls (SPEC 4.1, 4.2, 3).

Bodies here already have the shapes the HTTP schemas guarantee; these tests
are about meaning: names, identifiers, dates, suffix types.
"""

from typing import Any

import pytest

from trackway.domain.calls import event_call, identity_call
from trackway.domain.errors import Invalid
from trackway.domain.model import Identifier, IdentifierKind
from trackway.domain.policy import Policy

STRICT = Policy()
T0 = 1_796_292_000_000


def problems_of_identity(body: dict[str, Any], pointer: str = "") -> list[Any]:
    with pytest.raises(Invalid) as error:
        identity_call(body, STRICT, pointer)
    return [(p.pointer, p.detail) for p in error.value.problems]


def problems_of_event(body: dict[str, Any], pointer: str = "") -> list[Any]:
    with pytest.raises(Invalid) as error:
        event_call(body, STRICT, published_at=T0, pointer=pointer)
    return [(p.pointer, p.detail) for p in error.value.problems]


class TestEventName:
    @pytest.mark.parametrize(
        ("name", "detail"),
        [
            ("checkout started", "may hold only letters"),
            ("a", "at least 2 characters"),
            ("a" * 256, "at most 255 characters"),
            ("checkout\n", "may hold only letters"),
            ("1checkout", "must start with a letter"),
            ("-checkout", "must start with a letter"),
            ("écheckout", "must start with a letter"),
            ("", "must start with a letter"),
        ],
    )
    def test_bad_event_name_is_invalid_with_a_reason(
        self, name: str, detail: str
    ) -> None:
        [(pointer, message)] = problems_of_event({"name": name})

        assert pointer == "/name"
        assert detail in message

    def test_missing_event_name_is_invalid(self) -> None:
        assert problems_of_event({}, "/event") == [
            ("/event/name", "event.name is required and must be a string")
        ]

    @pytest.mark.parametrize("name", ["checkout-started", "a.b_c-1", "ab", "a" * 255])
    def test_good_event_name_is_accepted(self, name: str) -> None:
        call = event_call({"name": name}, STRICT, published_at=T0)

        assert call.name == name


class TestEventCall:
    def test_event_call_carries_ids_meta_time_and_address(self) -> None:
        body = {
            "name": "checkout-started",
            "trackingId": "v1",
            "sessionId": "s1",
            "meta": {"totalNum": 12, "renewalAt": "2026-12-03T11:00:00+01:00"},
        }

        call = event_call(body, STRICT, published_at=T0, real_ip="192.0.2.1")

        assert (call.name, call.tracking_id, call.session_id) == (
            "checkout-started",
            "v1",
            "s1",
        )
        assert call.meta == {"totalNum": 12, "renewalAt": "2026-12-03T10:00:00.000Z"}
        assert (call.published_at, call.real_ip) == (T0, "192.0.2.1")

    def test_every_problem_of_an_event_is_reported_at_once(self) -> None:
        body = {"name": "1st", "trackingId": "", "meta": {"totalNum": "x"}}

        problems = problems_of_event(body, "/event")

        assert [pointer for pointer, _ in problems] == [
            "/event/name",
            "/event/meta/totalNum",
            "/event/trackingId",
        ]

    def test_lenient_policy_accepts_meta_of_any_flat_type(self) -> None:
        body = {"name": "ab", "meta": {"totalNum": "many"}}

        call = event_call(body, Policy(strict_attributes=False), published_at=T0)

        assert call.meta == {"totalNum": "many"}


class TestIdentityCall:
    def test_identifiers_are_normalised_in_precedence_order(self) -> None:
        body = {
            "phone": "+44 20 7946 0958",
            "email": " Jane@Example.com",
            "externalId": "CRM-7",
        }

        call = identity_call(body, STRICT)

        assert call.identifiers == [
            Identifier(IdentifierKind.EXTERNAL_ID, "CRM-7"),
            Identifier(IdentifierKind.EMAIL, "jane@example.com"),
            Identifier(IdentifierKind.PHONE, "+442079460958"),
        ]

    def test_traits_hold_fields_with_dates_normalised(self) -> None:
        body = {
            "name": "Jane",
            "signedUpAt": "2026-12-03T11:00:00+01:00",
            "birthdayAt": "1992-07-04T23:30:00-05:00",
            "timeZone": "Europe/Paris",
            "location": {"type": "home", "cityName": "Paris"},
            "tags": ["vip", "beta", "vip"],
            "custom": {"planStr": "pro", "oldNum": None},
        }

        call = identity_call(body, STRICT)

        assert call.traits.fields == {
            "name": "Jane",
            "signedUpAt": "2026-12-03T10:00:00.000Z",
            "birthdayAt": "1992-07-04",
            "timeZone": "Europe/Paris",
            "locations": [{"type": "home", "cityName": "Paris"}],
            "tags": ["vip", "beta"],
            "custom": {"planStr": "pro", "oldNum": None},
        }

    def test_ids_and_remember_are_carried(self) -> None:
        body = {"trackingId": "v1", "sessionId": "s1", "remember": False}

        call = identity_call(body, STRICT)

        assert (call.tracking_id, call.session_id, call.remember) == (
            "v1",
            "s1",
            False,
        )
        assert call.identifiers == []
        assert call.traits.is_empty()

    def test_remember_not_given_is_left_for_the_binding_to_decide(self) -> None:
        assert identity_call({}, STRICT).remember is None
        assert identity_call({"remember": True}, STRICT).remember is True

    def test_every_problem_of_an_identity_is_reported_at_once(self) -> None:
        body = {
            "externalId": "undefined",
            "email": "not an address",
            "phone": "0",
            "signedUpAt": "yesterday",
            "birthdayAt": "2023-02-30",
            "timeZone": "Mars/Olympus",
            "tags": [f"t{i}" for i in range(21)],
            "custom": {"totalNum": "12"},
            "sessionId": "",
        }

        problems = problems_of_identity(body, "/identity")

        assert sorted(pointer for pointer, _ in problems) == [
            "/identity/birthdayAt",
            "/identity/custom/totalNum",
            "/identity/email",
            "/identity/externalId",
            "/identity/phone",
            "/identity/sessionId",
            "/identity/signedUpAt",
            "/identity/tags",
            "/identity/timeZone",
        ]

    def test_bad_email_and_custom_value_are_both_named(self) -> None:
        body = {"email": "jane@", "custom": {"totalNum": "twelve"}}

        problems = problems_of_identity(body, "/identity")

        assert [pointer for pointer, _ in problems] == [
            "/identity/email",
            "/identity/custom/totalNum",
        ]
        assert problems[1][1] == "custom.totalNum must be a number"

    def test_identifier_that_is_not_a_string_is_invalid(self) -> None:
        assert problems_of_identity({"externalId": 7}) == [
            ("/externalId", "externalId must be a string")
        ]

    def test_phone_without_plus_follows_the_default_region(self) -> None:
        body = {"phone": "020 7946 0958"}

        call = identity_call(body, Policy(default_phone_region="GB"))

        assert call.identifiers == [Identifier(IdentifierKind.PHONE, "+442079460958")]

    def test_phone_without_plus_is_invalid_without_a_default_region(self) -> None:
        [(pointer, detail)] = problems_of_identity({"phone": "020 7946 0958"})

        assert pointer == "/phone"
        assert detail.startswith("phone must start with +")

    def test_twenty_unique_tags_are_accepted_whatever_the_repeats(self) -> None:
        tags = [f"t{i}" for i in range(20)] * 2

        call = identity_call({"tags": tags}, STRICT)

        assert call.traits.fields["tags"] == tags[:20]
