"""Typing of `meta` and `custom` values by the suffix of their key.

Kustomer types custom attributes by name: `totalNum` is a number,
`renewalAt` a date-time, and so on. In strict (`kustomer`) mode a value of
the wrong type for its key is refused, so a client that works here also
works against Kustomer. `lenient` accepts any flat value under any key.
"""

import functools
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from trackway.domain.errors import Invalid, Problem
from trackway.domain.times import canonical_datetime

MAX_KEYS = 100
MAX_KEY_LENGTH = 128
MAX_STR = 1024

Check = Callable[[Any], str | None]


def _is_number(value: Any) -> bool:
    # Decimal: how the HTTP layer keeps a number's exact digits.
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _number(value: Any) -> str | None:
    return None if _is_number(value) else "must be a number"


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be a boolean"


def _short_string(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > MAX_STR:
        return f"must be at most {MAX_STR} characters"
    return None


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


# A plain absolute URL: ASCII, no spaces or brackets, a scheme and a host.
# urlsplit accepts every such string; checking the shape is much faster.
_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[!-Z\\^-~]+", re.ASCII)
_HOST_CHAR = re.compile(r"[^/?#]", re.ASCII)


def _url(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a URL string"
    if _PLAIN_URL.fullmatch(value):
        host = value.partition("://")[2]
        if _HOST_CHAR.match(host):
            return None
    try:
        parts = urlsplit(value)
    except ValueError:  # such as an unclosed IPv6 bracket: `http://[`
        return "must be an absolute URL"
    if not parts.scheme or not (parts.netloc or parts.path):
        return "must be an absolute URL"
    return None


def _date_time(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be an ISO-8601 date-time"
    return None  # the exact check happens in `_typed`, which also normalises


SUFFIXES: dict[str, Check] = {
    "Num": _number,
    "At": _date_time,
    "Bool": _boolean,
    "Str": _short_string,
    "Txt": _string,
    "Url": _url,
    "Id": _string,
}


# Keys repeat from call to call, so their suffixes are looked up once.
@functools.lru_cache(maxsize=4096)
def suffix_of(key: str) -> str | None:
    for suffix in SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return suffix
    return None


def typed_attributes(
    values: Mapping[str, Any],
    *,
    field: str,
    pointer: str,
    strict: bool,
    problems: list[Problem],
) -> dict[str, Any]:
    """Check every key and value; return them with date-times normalised.

    Problems are appended to `problems` (one per bad key) rather than raised,
    so a caller can report every mistake of a request at once. `None` passes
    everywhere: in `custom` it clears a key.
    """
    if len(values) > MAX_KEYS:
        problems.append(Problem(f"{field} has more than {MAX_KEYS} keys", pointer))
        return {}
    typed: dict[str, Any] = {}
    for key, value in values.items():
        where = f"{pointer}/{_escape(key)}"
        detail = _problem(key, value, strict)
        if detail is not None:
            problems.append(Problem(f"{field}.{key} {detail}", where))
            continue
        typed[key] = _normalised(key, value, strict, field, where, problems)
    return typed


def _problem(key: str, value: Any, strict: bool) -> str | None:
    if not key or len(key) > MAX_KEY_LENGTH:
        return f"key must be 1 to {MAX_KEY_LENGTH} characters"
    if isinstance(value, dict | list):
        return "must be a string, number, boolean or null (no objects or arrays)"
    if value is None or not strict:
        return None
    suffix = suffix_of(key)
    check = SUFFIXES[suffix] if suffix else _string
    detail = check(value)
    if detail and suffix is None:
        detail += " (name the key with a type suffix such as Num or Bool)"
    return detail


def _normalised(
    key: str,
    value: Any,
    strict: bool,
    field: str,
    pointer: str,
    problems: list[Problem],
) -> Any:
    if not strict or value is None or suffix_of(key) != "At":
        return value
    try:
        return canonical_datetime(value, f"{field}.{key}", pointer)
    except Invalid as error:
        problems.extend(error.problems)
        return None


def _escape(key: str) -> str:
    """A JSON-pointer token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")
