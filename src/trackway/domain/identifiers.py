"""Normalising the identifiers that find a customer: externalId, email, phone.

Values that clients send by mistake (`undefined`, `[object Object]`, ...)
are refused rather than matched, so they can never fuse strangers.
"""

import functools
import re

import email_validator
import phonenumbers

from trackway.domain.errors import invalid
from trackway.domain.model import Identifier, IdentifierKind

MAX_IDENTIFIER = 256

# Compared case-insensitively after trimming.
_PLACEHOLDERS = frozenset(
    {"", "undefined", "null", "none", "nan", "[object object]", "0"}
)


MAX_CLIENT_ID = 256
# Control and line-breaking characters, as a regex class: client ids travel
# back in headers and log lines, where these would split or forge a line.
CONTROL_CLASS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_CONTROL = re.compile(f"[{CONTROL_CLASS}]")


def client_id_problem(value: object, field: str) -> str | None:
    """What is wrong with a client-chosen trackingId or sessionId, if
    anything. A placeholder is refused like an identifier's: as a visitor
    it would make every stranger who sends it one person."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_CLIENT_ID:
        return f"{field} must be a string of 1 to {MAX_CLIENT_ID} characters"
    if _CONTROL.search(value):
        return f"{field} must not contain control characters"
    if value.strip().casefold() in _PLACEHOLDERS:
        return f"{field} has a placeholder value, not an id"
    return None


def check_client_id(value: object, field: str, pointer: str | None = None) -> str:
    """`value` when it can be a trackingId or sessionId; Invalid otherwise."""
    problem = client_id_problem(value, field)
    if problem is not None:
        raise invalid(problem, pointer)
    assert isinstance(value, str)
    return value


def reject_placeholder(value: str, field: str, pointer: str | None) -> None:
    if value.strip().casefold() in _PLACEHOLDERS:
        raise invalid(f"{field} has a placeholder value, not an identifier", pointer)


def normalise_external_id(value: str, pointer: str | None = None) -> str:
    """Kept exactly as sent; only placeholders and oversize are refused."""
    reject_placeholder(value, "externalId", pointer)
    if len(value) > MAX_IDENTIFIER:
        raise invalid(f"externalId is longer than {MAX_IDENTIFIER} characters", pointer)
    return value


def normalise_email(value: str, pointer: str | None = None) -> str:
    """Trimmed and case-folded, after a syntax check (no DNS lookup)."""
    reject_placeholder(value, "email", pointer)
    address = value.strip()
    if len(address) > MAX_IDENTIFIER:
        raise invalid(f"email is longer than {MAX_IDENTIFIER} characters", pointer)
    problem = _address_problem(address)
    if problem is not None:
        raise invalid(f"email is not a valid address: {problem}", pointer)
    return address.casefold()


# A syntax check takes tens of microseconds, and the same addresses come
# back again and again (an import names a person on row after row).
@functools.lru_cache(maxsize=16_384)
def _address_problem(address: str) -> str | None:
    """Why `address` is not a valid email address, or None."""
    try:
        email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        return str(error)
    return None


def normalise_phone(
    value: str, default_region: str | None, pointer: str | None = None
) -> str:
    """E.164 (`+14155550100`); a number without `+` needs a default region."""
    reject_placeholder(value, "phone", pointer)
    text = value.strip()
    if len(text) > MAX_IDENTIFIER:
        raise invalid(f"phone is longer than {MAX_IDENTIFIER} characters", pointer)
    if not text.startswith("+") and default_region is None:
        raise invalid(
            "phone must start with + and a country code "
            "(no default region is configured)",
            pointer,
        )
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise invalid("phone is not a phone number", pointer) from None
    if not phonenumbers.is_valid_number(number):
        raise invalid("phone is not a valid phone number", pointer)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def identifier(
    kind: IdentifierKind, value: str, default_region: str | None = None
) -> Identifier:
    """Normalise a lookup value the way identity calls are normalised."""
    if kind is IdentifierKind.EMAIL:
        return Identifier(kind, normalise_email(value))
    if kind is IdentifierKind.PHONE:
        return Identifier(kind, normalise_phone(value, default_region))
    return Identifier(kind, normalise_external_id(value))
