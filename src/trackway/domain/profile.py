"""Applying traits to a customer's profile, and describing what changed.

A change record lists each changed attribute as
`{"op": "add"|"replace"|"remove", "before": ..., "after": ...}`; custom
attributes are listed one key at a time as `custom.<key>`.
"""

from typing import Any

from trackway.domain.model import LIST_LIMITS, SCALAR_FIELDS, Profile, Traits

Changes = dict[str, dict[str, Any]]


def merge_traits(older: dict[str, Any] | None, newer: Traits) -> Traits:
    """Traits of two calls as one: newer scalars win, lists and custom merge."""
    merged: dict[str, Any] = dict(older or {})
    for name, value in newer.fields.items():
        if name in LIST_LIMITS:
            merged[name] = _union(merged.get(name, []), value)
        elif name == "custom":
            merged["custom"] = {**merged.get("custom", {}), **value}
        else:
            merged[name] = value
    return Traits(merged)


def apply_traits(profile: Profile, traits: Traits) -> Profile:
    """The profile after `traits`; the input is not modified.

    Emails and phones arrive as plain values and are stored as
    `{"type": "other", "email": ..., "verified": false}` entries. Lists keep
    their first entries when a limit is reached. An empty list or `custom`
    is never added where there was none.
    """
    after = dict(profile)
    for name, value in traits.fields.items():
        if name in SCALAR_FIELDS or name == "externalId":
            after[name] = value
        elif name == "emails":
            after[name] = _add_contacts(after.get(name, []), "email", value)
        elif name == "phones":
            after[name] = _add_contacts(after.get(name, []), "phone", value)
        elif name in ("locations", "tags"):
            merged = _union(after.get(name, []), value)
            _set_unless_empty(after, name, merged[: LIST_LIMITS[name]])
        elif name == "custom":
            merged_custom = _merge_custom(after.get("custom", {}), value)
            _set_unless_empty(after, "custom", merged_custom)
    return after


def _set_unless_empty(
    profile: Profile, name: str, value: list[Any] | dict[str, Any]
) -> None:
    # An absent list and an empty one read the same, so adding an empty one
    # would be a change record about nothing.
    if value or name in profile:
        profile[name] = value


def has_room(profile: Profile, list_name: str) -> bool:
    return len(profile.get(list_name, [])) < LIST_LIMITS[list_name]


def diff(before: Profile, after: Profile) -> Changes:
    """Every attribute that differs, as `{op, before, after}`."""
    changes: Changes = {}
    for name in sorted(before.keys() | after.keys()):
        if name == "custom":
            continue
        _compare(changes, name, before.get(name), after.get(name))
    old_custom = before.get("custom", {})
    new_custom = after.get("custom", {})
    for key in sorted(old_custom.keys() | new_custom.keys()):
        _compare(changes, f"custom.{key}", old_custom.get(key), new_custom.get(key))
    return changes


def _compare(changes: Changes, name: str, old: Any, new: Any) -> None:
    if old == new and type(old) is type(new):
        return
    if old is None:
        op = "add"
    elif new is None:
        op = "remove"
    else:
        op = "replace"
    changes[name] = {"op": op, "before": old, "after": new}


def _union(current: list[Any], extra: list[Any]) -> list[Any]:
    merged = list(current)
    for item in extra:
        if item not in merged:
            merged.append(item)
    return merged


def _add_contacts(
    current: list[dict[str, Any]], key: str, values: list[str]
) -> list[Any]:
    contacts = list(current)
    known = {entry[key] for entry in contacts}
    for value in values:
        if value not in known and len(contacts) < LIST_LIMITS[key + "s"]:
            contacts.append({"type": "other", key: value, "verified": False})
            known.add(value)
    return contacts


def _merge_custom(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in update.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
