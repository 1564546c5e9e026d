"""Per-trait ordering: which traits of a late call still apply."""

from trackway.domain.model import Traits
from trackway.domain.trait_times import split_stale, stamp, trait_names, unapplied


def test_trait_names_are_scalars_and_custom_keys() -> None:
    traits = Traits({"name": "J", "emails": ["j@x.io"], "custom": {"plan": "pro"}})

    assert trait_names(traits) == ["name", "custom.plan"]


def test_stamp_never_moves_a_time_back() -> None:
    times = stamp({"name": 50}, Traits({"name": "J", "company": "A"}), 40)

    assert times == {"name": 50, "company": 40}


def test_traits_given_later_than_the_call_are_stale() -> None:
    traits = Traits({"name": "J", "company": "A", "tags": ["x"],
                     "custom": {"plan": "free", "seats": 2}})  # fmt: skip
    times = {"name": 100, "custom.plan": 100, "company": 10}

    fresh, stale = split_stale(traits, times, 50)

    assert fresh.fields == {"company": "A", "tags": ["x"], "custom": {"seats": 2}}
    assert stale.fields == {"name": "J", "custom": {"plan": "free"}}


def test_a_trait_given_at_the_same_time_still_applies() -> None:
    fresh, stale = split_stale(Traits({"name": "J"}), {"name": 50}, 50)

    assert (fresh.fields, stale.fields) == ({"name": "J"}, {})


def test_unapplied_changes_are_marked() -> None:
    changes = unapplied({"name": "Jane"}, Traits({"name": "J"}))

    assert changes == {
        "name": {"op": "replace", "before": "Jane", "after": "J", "applied": False}
    }
