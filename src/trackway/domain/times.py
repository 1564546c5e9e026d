"""Reading and writing times: ISO-8601 in, milliseconds inside, `...Z` out."""

import re
import time
from datetime import UTC, date, datetime, timedelta

from trackway.domain.errors import invalid

# A date, a 'T' or space, a time with optional fraction, optional offset.
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def format_ms(ms: int) -> str:
    """`2026-12-03T10:00:00.000Z` for a time in epoch milliseconds."""
    # isoformat, unlike strftime's %Y, always writes the year in four digits.
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def parse_datetime(value: object, field: str, pointer: str | None = None) -> int:
    """Epoch milliseconds of an ISO date-time; offset-less means UTC."""
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise invalid(f"{field} must be an ISO-8601 date-time", pointer)
    text = value.replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = _trim_fraction(text)
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        # Fails when the offset carries the moment outside years 1 to 9999.
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid(f"{field} is not a valid date-time", pointer) from None
    return (moment - _EPOCH) // timedelta(milliseconds=1)


# A tracked event happened after 1970 and not more than a day ahead of the
# server's clock; a time outside is a client's bug, refused rather than kept.
LATEST_AHEAD_MS = 86_400_000


def not_before_1970(at: int, field: str, pointer: str | None = None) -> int:
    if at < 0:
        raise invalid(f"{field} is before 1970", pointer)
    return at


def check_event_time(at: int, now: int, field: str, pointer: str | None = None) -> int:
    """`at` when it can be an event's time; Invalid otherwise."""
    not_before_1970(at, field, pointer)
    if at > now + LATEST_AHEAD_MS:
        raise invalid(f"{field} is more than a day in the future", pointer)
    return at


def parse_date(value: object, field: str, pointer: str | None = None) -> str:
    """A calendar date `YYYY-MM-DD` from a date or a date-time.

    The date part is taken as written, so a birthday is never shifted by a
    time zone.
    """
    if isinstance(value, str) and _DATE.fullmatch(value):
        text = value
    elif isinstance(value, str) and _DATE_TIME.fullmatch(value):
        parse_datetime(value, field, pointer)
        text = value[:10]
    else:
        raise invalid(f"{field} must be a date (YYYY-MM-DD) or date-time", pointer)
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise invalid(f"{field} is not a valid calendar date", pointer) from None


def canonical_datetime(value: object, field: str, pointer: str | None = None) -> str:
    """The UTC form `...T...000Z` of an ISO date-time."""
    return format_ms(parse_datetime(value, field, pointer))


def _trim_fraction(text: str) -> str:
    # datetime holds microseconds; clients may send nanoseconds.
    match = re.search(r"\.(\d+)", text)
    if match and len(match.group(1)) > 6:
        start, end = match.span(1)
        text = text[:start] + match.group(1)[:6] + text[end:]
    return text
