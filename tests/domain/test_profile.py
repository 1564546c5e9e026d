"""Applying traits to a profile and describing the change (SPEC 5.3)."""

from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from trackway.domain.model import Traits
from trackway.domain.profile import apply_traits, diff, merge_traits


def email_entry(address: str) -> dict[str, Any]:
    return {"type": "other", "email": address, "verified": False}


def phone_entry(number: str) -> dict[str, Any]:
    return {"type": "other", "phone": number, "verified": False}


class TestApply:
    def test_scalars_are_set_and_replaced(self) -> None:
        profile = {"name": "Jane", "company": "Acme"}

        after = apply_traits(profile, Traits({"name": "Jane Doe", "gender": "f"}))

        assert after == {"name": "Jane Doe", "company": "Acme", "gender": "f"}

    def test_input_profile_is_not_modified(self) -> None:
        profile: dict[str, Any] = {"tags": ["a"], "custom": {"k": "v"}}

        apply_traits(profile, Traits({"tags": ["b"], "custom": {"k": None}}))

        assert profile == {"tags": ["a"], "custom": {"k": "v"}}

    def test_emails_and_phones_are_appended_without_duplicates(self) -> None:
        profile = {"emails": [email_entry("a@example.com")]}
        traits = Traits(
            {
                "emails": ["a@example.com", "b@example.com"],
                "phones": ["+442079460958", "+442079460958"],
            }
        )

        after = apply_traits(profile, traits)

        assert after["emails"] == [
            email_entry("a@example.com"),
            email_entry("b@example.com"),
        ]
        assert after["phones"] == [phone_entry("+442079460958")]

    def test_emails_stop_at_ten(self) -> None:
        profile = {"emails": [email_entry(f"{i}@example.com") for i in range(9)]}
        traits = Traits({"emails": ["x@example.com", "y@example.com"]})

        after = apply_traits(profile, traits)

        assert len(after["emails"]) == 10
        assert after["emails"][-1] == email_entry("x@example.com")

    def test_tags_are_a_union_of_at_most_twenty(self) -> None:
        profile = {"tags": [f"t{i}" for i in range(18)]}
        traits = Traits({"tags": ["t0", "new1", "new2", "new3"]})

        after = apply_traits(profile, traits)

        assert after["tags"] == [f"t{i}" for i in range(18)] + ["new1", "new2"]

    def test_locations_are_appended_without_duplicates(self) -> None:
        home = {"type": "home", "cityName": "Paris"}
        work = {"type": "work", "cityName": "Lyon"}

        after = apply_traits({"locations": [home]}, Traits({"locations": [home, work]}))

        assert after["locations"] == [home, work]

    def test_custom_is_merged_key_by_key_and_none_removes(self) -> None:
        profile = {"custom": {"planStr": "free", "seatsNum": 3, "oldBool": True}}
        traits = Traits({"custom": {"planStr": "pro", "oldBool": None, "newId": "7"}})

        after = apply_traits(profile, traits)

        assert after["custom"] == {"planStr": "pro", "seatsNum": 3, "newId": "7"}

    def test_external_id_is_set(self) -> None:
        assert apply_traits({}, Traits({"externalId": "CRM-7"})) == {
            "externalId": "CRM-7"
        }

    def test_empty_list_or_custom_adds_nothing(self) -> None:
        traits = Traits({"tags": [], "locations": [], "custom": {"goneStr": None}})

        assert apply_traits({"name": "Jane"}, traits) == {"name": "Jane"}


class TestMerge:
    def test_newer_scalars_win_and_lists_and_custom_merge(self) -> None:
        older = {"name": "J", "tags": ["a"], "custom": {"k": 1, "j": 2}}
        newer = Traits({"name": "Jane", "tags": ["a", "b"], "custom": {"k": None}})

        merged = merge_traits(older, newer)

        assert merged.fields == {
            "name": "Jane",
            "tags": ["a", "b"],
            "custom": {"k": None, "j": 2},
        }

    def test_nothing_older_gives_the_newer_traits(self) -> None:
        assert merge_traits(None, Traits({"name": "Jane"})).fields == {"name": "Jane"}


class TestDiff:
    def test_diff_names_each_change_with_op_before_and_after(self) -> None:
        before = {"name": "Jane", "company": "Acme", "custom": {"a": 1, "b": 2}}
        after = {"name": "Jane Doe", "locale": "fr_FR", "custom": {"a": 1, "c": 3}}

        changes = diff(before, after)

        assert changes == {
            "name": {"op": "replace", "before": "Jane", "after": "Jane Doe"},
            "company": {"op": "remove", "before": "Acme", "after": None},
            "locale": {"op": "add", "before": None, "after": "fr_FR"},
            "custom.b": {"op": "remove", "before": 2, "after": None},
            "custom.c": {"op": "add", "before": None, "after": 3},
        }

    def test_list_growth_is_a_replace_with_both_lists(self) -> None:
        before = {"tags": ["a"]}

        changes = diff(before, {"tags": ["a", "b"]})

        assert changes == {
            "tags": {"op": "replace", "before": ["a"], "after": ["a", "b"]}
        }

    def test_equal_profiles_have_an_empty_diff(self) -> None:
        profile = {"name": "Jane", "tags": ["a"], "custom": {"k": "v"}}

        assert diff(profile, dict(profile)) == {}

    def test_a_number_that_becomes_a_boolean_is_a_change(self) -> None:
        changes = diff({"custom": {"k": 1}}, {"custom": {"k": True}})

        assert changes == {"custom.k": {"op": "replace", "before": 1, "after": True}}


SCALAR = st.one_of(st.sampled_from(["Jane", "Joe"]), st.none())
CUSTOM_VALUE = st.one_of(st.none(), st.booleans(), st.integers(0, 2), st.just("x"))
CUSTOM = st.dictionaries(st.sampled_from(["aNum", "b", "cBool"]), CUSTOM_VALUE)
TAGS = st.lists(st.sampled_from(["t1", "t2", "t3"]), max_size=3)
EMAILS = st.lists(st.sampled_from(["a@example.com", "b@example.com"]), max_size=2)


@st.composite
def traits(draw: st.DrawFn) -> Traits:
    fields: dict[str, Any] = {}
    for name, values in [
        ("name", SCALAR),
        ("company", SCALAR),
        ("tags", TAGS),
        ("emails", EMAILS),
        ("custom", CUSTOM),
    ]:
        value = draw(values)
        if value is not None and draw(st.booleans()):
            fields[name] = value
    return Traits(fields)


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, Any]:
    return apply_traits({}, draw(traits()))


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal as stored JSON: `1` and `true` differ, key order does not."""
    return msgspec.json.encode(a, order="sorted") == msgspec.json.encode(
        b, order="sorted"
    )


@given(profiles(), traits())
def test_diff_is_empty_exactly_when_applying_changed_nothing(
    profile: dict[str, Any], update: Traits
) -> None:
    after = apply_traits(profile, update)

    assert (diff(profile, after) == {}) == same(profile, after)


@given(profiles(), traits())
def test_applying_the_same_traits_twice_changes_nothing_the_second_time(
    profile: dict[str, Any], update: Traits
) -> None:
    once = apply_traits(profile, update)

    assert diff(once, apply_traits(once, update)) == {}
