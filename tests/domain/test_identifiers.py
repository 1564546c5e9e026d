"""Normalising identifiers (SPEC 4.2, 5.1): what is matched, what is refused."""

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trackway.domain.errors import Invalid
from trackway.domain.identifiers import (
    identifier,
    normalise_email,
    normalise_external_id,
    normalise_phone,
)
from trackway.domain.model import Identifier, IdentifierKind

PLACEHOLDERS = ["", "   ", "undefined", "null", "None", "NaN", "[object Object]", "0"]

Normaliser = Callable[[str, str], str]

NORMALISERS: dict[str, Normaliser] = {
    "externalId": normalise_external_id,
    "email": normalise_email,
    "phone": lambda value, pointer: normalise_phone(value, "GB", pointer),
}


def problem_of(error: pytest.ExceptionInfo[Invalid]) -> tuple[str, str | None]:
    [problem] = error.value.problems
    return problem.detail, problem.pointer


class TestEmail:
    def test_email_is_trimmed_and_case_folded(self) -> None:
        assert normalise_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"

    def test_email_with_an_inner_space_is_invalid(self) -> None:
        with pytest.raises(Invalid) as error:
            normalise_email("jane doe@example.com", "/email")

        detail, pointer = problem_of(error)
        assert detail.startswith("email is not a valid address")
        assert pointer == "/email"

    @pytest.mark.parametrize(
        "value", ["jane@", "@example.com", "jane@example", "jane.example.com"]
    )
    def test_malformed_email_is_invalid(self, value: str) -> None:
        with pytest.raises(Invalid, match="email"):
            normalise_email(value)

    @given(st.emails())
    def test_normalising_an_accepted_email_again_changes_nothing(
        self, value: str
    ) -> None:
        try:
            once = normalise_email(value)
        except Invalid:
            return  # the property speaks of accepted addresses only

        assert normalise_email(once) == once


class TestPhone:
    @pytest.mark.parametrize(
        "value", ["+44 20 7946 0958", "020 7946 0958", "+44 (0)20-7946-0958"]
    )
    def test_three_spellings_of_one_number_give_one_e164(self, value: str) -> None:
        assert normalise_phone(value, "GB") == "+442079460958"

    @pytest.mark.parametrize("value", ["+999 1234", "++44", "+44 12"])
    def test_unparseable_or_impossible_phone_is_invalid(self, value: str) -> None:
        with pytest.raises(Invalid) as error:
            normalise_phone(value, "GB", "/phone")

        detail, pointer = problem_of(error)
        assert detail.startswith("phone is not")
        assert pointer == "/phone"

    def test_phone_without_plus_and_no_default_region_is_invalid(self) -> None:
        with pytest.raises(Invalid, match=r"phone must start with \+"):
            normalise_phone("(415) 555-0132", None)

    def test_phone_without_plus_takes_the_default_region(self) -> None:
        assert normalise_phone("(415) 555-0132", "US") == "+14155550132"

    def test_phone_with_plus_needs_no_default_region(self) -> None:
        assert normalise_phone("+1 415 555 0132", None) == "+14155550132"


class TestPlaceholders:
    @pytest.mark.parametrize("field", NORMALISERS)
    @pytest.mark.parametrize("value", PLACEHOLDERS)
    def test_placeholder_is_invalid_naming_the_field(
        self, field: str, value: str
    ) -> None:
        with pytest.raises(Invalid) as error:
            NORMALISERS[field](value, f"/{field}")

        detail, pointer = problem_of(error)
        assert detail == f"{field} has a placeholder value, not an identifier"
        assert pointer == f"/{field}"

    @pytest.mark.parametrize("value", [" UNDEFINED ", "nan", "[OBJECT OBJECT]"])
    def test_placeholder_is_recognised_in_any_case_and_spacing(
        self, value: str
    ) -> None:
        with pytest.raises(Invalid, match="placeholder"):
            normalise_external_id(value)


class TestExternalId:
    def test_external_id_of_256_characters_is_kept_exactly(self) -> None:
        value = " Crm-" + "x" * 250 + " "

        assert value == normalise_external_id(value)

    def test_external_id_of_257_characters_is_invalid_not_truncated(self) -> None:
        with pytest.raises(Invalid) as error:
            normalise_external_id("x" * 257, "/externalId")

        detail, pointer = problem_of(error)
        assert detail == "externalId is longer than 256 characters"
        assert pointer == "/externalId"

    def test_external_id_keeps_its_case(self) -> None:
        assert normalise_external_id("CRM-7") == "CRM-7"


class TestLookups:
    def test_lookup_identifiers_are_normalised_like_identity_calls(self) -> None:
        found = [
            identifier(IdentifierKind.EMAIL, " Jane@Example.com"),
            identifier(IdentifierKind.PHONE, "020 7946 0958", "GB"),
            identifier(IdentifierKind.EXTERNAL_ID, "CRM-7"),
        ]

        assert found == [
            Identifier(IdentifierKind.EMAIL, "jane@example.com"),
            Identifier(IdentifierKind.PHONE, "+442079460958"),
            Identifier(IdentifierKind.EXTERNAL_ID, "CRM-7"),
        ]
