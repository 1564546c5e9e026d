"""Per-trait ordering: a late identity call never overwrites a newer trait.

A customer remembers when each scalar trait and each custom key was last
given (`"name"`, `"custom.plan"`). Every identity call stamps the traits it
gives with its own time. A call whose time is the client's (a Segment
identify, corrected for clock skew) may arrive after a newer one; traits
given later than its time are then left as they are, and its change record
lists them with `"applied": false`, so the history still shows the call.

Lists (emails, phones, locations, tags) only grow, so their order never
matters, and the externalId is never replaced.
"""

from typing import Any

from trackway.domain.model import SCALAR_FIELDS, Profile, Traits
from trackway.domain.profile import Changes, apply_traits, diff

TraitTimes = dict[str, int]


def trait_names(traits: Traits) -> list[str]:
    """The ordered traits a call gives: scalars and `custom.<key>`."""
    fields = traits.fields
    names = [name for name in SCALAR_FIELDS if name in fields]
    names += [f"custom.{key}" for key in fields.get("custom") or {}]
    return names


def stamp(times: TraitTimes, traits: Traits, at: int) -> TraitTimes:
    """`times` with every trait of `traits` given at `at` (never moved back)."""
    stamped = dict(times)
    for name in trait_names(traits):
        stamped[name] = max(stamped.get(name, at), at)
    return stamped


def split_stale(traits: Traits, times: TraitTimes, at: int) -> tuple[Traits, Traits]:
    """(traits to apply, traits given later than `at` by another call)."""
    fresh: dict[str, Any] = {}
    stale: dict[str, Any] = {}
    for name, value in traits.fields.items():
        if name == "custom":
            _split_custom(value, times, at, fresh, stale)
        elif name in SCALAR_FIELDS and times.get(name, at) > at:
            stale[name] = value
        else:
            fresh[name] = value
    return Traits(fresh), Traits(stale)


def unapplied(profile: Profile, stale: Traits) -> Changes:
    """What `stale` would have changed, each entry marked not applied."""
    changes = diff(profile, apply_traits(profile, stale))
    return {name: {**change, "applied": False} for name, change in changes.items()}


def _split_custom(
    custom: dict[str, Any],
    times: TraitTimes,
    at: int,
    fresh: dict[str, Any],
    stale: dict[str, Any],
) -> None:
    for key, value in custom.items():
        late = times.get(f"custom.{key}", at) > at
        target = stale if late else fresh
        target.setdefault("custom", {})[key] = value
