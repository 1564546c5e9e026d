"""Reading request bodies: size limits, gzip, strict JSON, Struct checks.

`read_json` turns the bytes of a request into a JSON object or raises a
`TrackwayError` (400, 413 or 415); `convert` checks that object against a
Struct of `trackway.api.schemas` and names the offending field with a JSON
pointer when it does not fit.
"""

import math
import re
import zlib
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn, TypeVar

import anyio
import msgspec
import msgspec.inspect as mi
from starlette.requests import ClientDisconnect, Request

from trackway.api.errors import BodyTimedOut, Path, dotted, path_of, pointer
from trackway.api.schemas import ID_PATTERN
from trackway.domain.errors import (
    PayloadTooLarge,
    Problem,
    UnsupportedMediaType,
    invalid,
)
from trackway.settings import Settings

T = TypeVar("T")

_GZIP = 16 + zlib.MAX_WBITS
_decoder = msgspec.json.Decoder(float_hook=Decimal)
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


async def read_json(
    request: Request,
    settings: Settings,
    *,
    allow_text_plain: bool = True,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """The JSON object in the body of `request`.

    Contract: call this only after the key has been checked, so a request
    without a valid key is 401 before its body is read or inflated.

    Raises UnsupportedMediaType (415) unless the Content-Type is
    application/json (any parameters) or, when `allow_text_plain`,
    text/plain; or when Content-Encoding is not identity or gzip.
    Raises BodyTimedOut (408, then the connection closes) when the body
    takes longer than `settings.body_timeout_seconds` to arrive.
    Raises PayloadTooLarge (413) when the declared length, the bytes sent,
    or the inflated bytes exceed `settings.max_body_bytes` (or `max_bytes`
    when that is smaller); a gzip body is
    inflated as a stream, so memory stays near the limit. Raises Invalid
    (400) for corrupt gzip, malformed JSON, nesting deeper than
    `settings.max_json_depth`, a NUL character in a string or key, an
    integer outside -2**63 .. 2**64-1, a non-finite number, or a body that
    is not an object. Numbers are otherwise kept exactly as sent.
    """
    _check_media_type(request.headers.get("content-type"), allow_text_plain)
    gzipped = _is_gzipped(request.headers.get("content-encoding"))
    limit = min(settings.max_body_bytes, max_bytes or settings.max_body_bytes)
    _check_declared_length(request.headers.get("content-length"), limit)

    sink = _Inflater(limit) if gzipped else _Collector(limit)
    seconds = settings.body_timeout_seconds
    try:
        # A client that trickles its body must not hold the server forever.
        with anyio.fail_after(seconds):
            async for chunk in request.stream():
                sink.feed(chunk)
    except TimeoutError:
        raise BodyTimedOut(seconds) from None
    except ClientDisconnect:
        # Nobody is left to read the answer; a 400 keeps it out of the 5xx.
        raise invalid(
            "the client closed the connection before the body ended"
        ) from None
    data = sink.finish()

    value = decode_json(data, settings.max_json_depth)
    if not isinstance(value, dict):
        raise invalid("body must be a JSON object")
    return value


def decode_json(data: bytes, max_depth: int) -> Any:
    """Decode strict JSON and check it as `read_json` describes.

    Numbers with a fraction or exponent become `Decimal`, so `0.10` or
    `1e-400` are stored and returned digit for digit.
    """
    try:
        value = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        reason = str(error).removeprefix("JSON is malformed: ")
        raise invalid(f"body is not valid JSON: {reason}") from None
    except RecursionError:
        raise invalid(f"body nests deeper than {max_depth} levels") from None
    except InvalidOperation:
        # Decimal takes exponents up to 18 digits; a longer one is no number
        # any client means.
        raise invalid("body has a number whose exponent is out of range") from None
    check_json(value, max_depth)
    return value


def check_json(value: Any, max_depth: int) -> None:
    """Refuse what strict JSON forbids and msgspec lets through.

    Walks with an explicit stack, so a deep value cannot exhaust Python's
    recursion limit here.
    """
    stack: list[tuple[Any, Path]] = [(value, ())]
    while stack:
        container, path = stack.pop()
        if len(path) >= max_depth:
            detail = f"body nests deeper than {max_depth} levels"
            raise invalid(detail, pointer(path))
        for key, item in _members(container):
            if isinstance(key, str) and "\x00" in key:
                detail = f"{dotted(path)} has a key that contains NUL (\\u0000)"
                raise invalid(detail, pointer((*path, key)))
            if isinstance(item, dict | list):
                stack.append((item, (*path, key)))
            elif flaw := _flaw(item):
                _refuse((*path, key), flaw)
    if not isinstance(value, dict | list) and (flaw := _flaw(value)):
        _refuse((), flaw)


def convert(value: Any, schema: type[T], pointer_prefix: str = "") -> T:
    """`value` as an instance of the Struct `schema`, or Invalid (400).

    The problem's pointer is `pointer_prefix` followed by msgspec's path;
    its detail names the field in dotted form, for example
    `event.name is required` or `identity.tags must have at most 20 items`.
    """
    try:
        return msgspec.convert(value, schema)
    except msgspec.ValidationError as error:
        problem = _problem(str(error), schema, pointer_prefix)
    raise invalid(problem.detail, problem.pointer)


def _members(container: Any) -> Iterator[tuple[str | int, Any]]:
    if isinstance(container, dict):
        return iter(container.items())
    if isinstance(container, list):
        return enumerate(container)
    return iter(())


def _flaw(item: Any) -> str | None:
    """What is wrong with a JSON scalar, if anything."""
    if isinstance(item, str) and "\x00" in item:
        return "must not contain NUL (\\u0000)"
    if isinstance(item, bool):
        return None
    if isinstance(item, int) and not _INT_MIN <= item <= _INT_MAX:
        return "is an integer beyond 64 bits"
    if isinstance(item, float) and not math.isfinite(item):
        return "must be a finite number"
    return None


def _refuse(where: Path, flaw: str) -> NoReturn:
    raise invalid(f"{dotted(where)} {flaw}", pointer(where))


def _check_media_type(content_type: str | None, allow_text_plain: bool) -> None:
    media, _, parameters = (content_type or "").partition(";")
    media = media.strip().lower()
    accepted = ["application/json"] + (["text/plain"] if allow_text_plain else [])
    if media not in accepted:
        expected = " or ".join(accepted)
        detail = f"Content-Type must be {expected}, not {media or 'none'}"
        raise UnsupportedMediaType(Problem(detail))
    charset = _charset(parameters)
    if charset not in (None, "utf-8", "utf8", "us-ascii"):
        detail = f"JSON must be sent as UTF-8, not {charset}"
        raise UnsupportedMediaType(Problem(detail))


def _charset(parameters: str) -> str | None:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def _is_gzipped(content_encoding: str | None) -> bool:
    coding = (content_encoding or "identity").strip().lower()
    if coding in ("gzip", "x-gzip"):
        return True
    if coding in ("identity", ""):
        return False
    raise UnsupportedMediaType(
        Problem(f"Content-Encoding must be gzip or identity, not {coding}")
    )


def _check_declared_length(content_length: str | None, limit: int) -> None:
    if content_length is None or not content_length.strip().isdigit():
        return
    if int(content_length) > limit:
        raise _too_large(limit)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(Problem(f"body is larger than {limit} bytes"))


class _Collector:
    """Gathers a plain body, refusing it once it passes `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._data = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._data += chunk
        if len(self._data) > self._limit:
            raise _too_large(self._limit)

    def finish(self) -> bytes:
        return bytes(self._data)


class _Inflater:
    """Inflates gzip as it arrives, never holding more than `limit` + 1
    inflated bytes; accepts several concatenated gzip members."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._received = 0
        self._data = bytearray()
        self._stream = zlib.decompressobj(_GZIP)

    def feed(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self._limit:
            raise _too_large(self._limit)
        pending = chunk
        while pending:
            if self._stream.eof:
                self._stream = zlib.decompressobj(_GZIP)
            room = self._limit + 1 - len(self._data)
            self._data += self._inflate(pending, room)
            if len(self._data) > self._limit:
                raise _too_large(self._limit)
            stream = self._stream
            pending = stream.unused_data if stream.eof else stream.unconsumed_tail

    def finish(self) -> bytes:
        if not self._stream.eof:
            raise invalid("body is not valid gzip: it ends too early")
        return bytes(self._data)

    def _inflate(self, data: bytes, room: int) -> bytes:
        try:
            return self._stream.decompress(data, room)
        except zlib.error as error:
            raise invalid(f"body is not valid gzip: {error}") from None


# msgspec reports one error as "<message> - at `$.a.b[3]`".
_LOCATED = re.compile(r"(?P<text>.*?)(?: - at `(?P<path>\$[^`]*)`)?", re.S)
_STEP = re.compile(r"\.(?P<name>[^.\[]+)|\[(?P<index>\d+)\]|\[\.\.\.\]")
_FIELD = re.compile(
    r"Object (?P<kind>missing required|contains unknown) field `(?P<name>.*)`",
    re.S,
)
_LENGTH = re.compile(r"Expected `(?P<type>\w+)` of length (?P<op>[<>]=) (?P<n>\d+)")
_BOUND = re.compile(r"Expected `\w+` (?P<op>[<>]=?) (?P<n>\S+)")
_PATTERN = re.compile(r"Expected `str` matching regex '(?P<regex>.*)'", re.S)
# Patterns said in words, for people who do not read regular expressions.
_PATTERN_RULES = {ID_PATTERN: "must not contain control characters"}
_TYPE = re.compile(r"Expected `(?P<want>[^`]*)`, got `(?P<got>\w+)`")

_NOUNS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}
_UNITS = {"str": "characters", "array": "items", "object": "keys"}
_BOUNDS = {
    "<=": "at most",
    ">=": "at least",
    "<": "less than",
    ">": "greater than",
}


def _problem(message: str, schema: type[Any], prefix: str) -> Problem:
    located = _LOCATED.fullmatch(message)
    assert located is not None  # the pattern matches any text
    steps = _msgspec_path(located["path"] or "$")
    where = path_of(prefix) + steps
    text = located["text"]

    field = _FIELD.fullmatch(text)
    if field is not None:
        where = (*where, field["name"])
        missing = field["kind"] == "missing required"
        verb = "is required" if missing else "is not an allowed field"
        return Problem(f"{dotted(where)} {verb}", pointer(where))

    if text.startswith("Invalid enum value"):
        phrase = _one_of(_allowed_values(schema, steps))
    else:
        phrase = _phrase(text)
    detail = f"{dotted(where)} {phrase}" if phrase else f"{dotted(where)}: {text}"
    return Problem(detail, pointer(where))


def _msgspec_path(text: str) -> Path:
    steps: list[str | int] = []
    for step in _STEP.finditer(text):
        if step["name"] is not None:
            steps.append(step["name"])
        elif step["index"] is not None:
            steps.append(int(step["index"]))
        else:
            # "[...]" is a value inside a mapping: msgspec omits its key.
            break
    return tuple(steps)


def _phrase(text: str) -> str | None:
    if length := _LENGTH.fullmatch(text):
        kind, n = length["type"], int(length["n"])
        if kind == "str" and length["op"] == ">=" and n == 1:
            return "must not be empty"
        verb = "be" if kind == "str" else "have"
        unit = _UNITS.get(kind, "elements")
        return f"must {verb} {_BOUNDS[length['op']]} {n} {unit}"
    if bound := _BOUND.fullmatch(text):
        number = bound["n"].removesuffix(".0")
        return f"must be {_BOUNDS[bound['op']]} {number}"
    if pattern := _PATTERN.fullmatch(text):
        # msgspec doubles each backslash when it quotes the pattern.
        regex = pattern["regex"].replace("\\\\", "\\")
        return _PATTERN_RULES.get(regex, f"must match {regex}")
    if wrong := _TYPE.fullmatch(text):
        got = _NOUNS.get(wrong["got"], wrong["got"])
        return f"must be {_nouns(wrong['want'])}, not {got}"
    return None


def _nouns(union: str) -> str:
    names = [n.strip() for n in union.split("|")]
    # null stands for "absent" in requests, so it is not worth offering.
    wanted = [n for n in names if n != "null"] or names
    return " or ".join(_NOUNS.get(name, name) for name in wanted)


def _one_of(values: tuple[Any, ...]) -> str | None:
    if not values:
        return None
    return "must be one of: " + ", ".join(str(v) for v in values)


def _allowed_values(schema: type[Any], steps: Path) -> tuple[Any, ...]:
    """The values of the Literal at `steps` inside `schema`, if it is one."""
    info: mi.Type | None = mi.type_info(schema)
    for step in steps:
        info = _child(_unwrap(info), step)
    found = _unwrap(info)
    return tuple(found.values) if isinstance(found, mi.LiteralType) else ()


def _child(info: mi.Type | None, step: str | int) -> mi.Type | None:
    if isinstance(info, mi.StructType):
        fields = (f for f in info.fields if f.encode_name == step)
        return next((f.type for f in fields), None)
    if isinstance(info, mi.ListType):
        return info.item_type
    return None


def _unwrap(info: mi.Type | None) -> mi.Type | None:
    while True:
        if isinstance(info, mi.Metadata):
            info = info.type
        elif isinstance(info, mi.UnionType):
            options = [t for t in info.types if not isinstance(t, mi.NoneType)]
            if len(options) != 1:
                return info
            info = options[0]
        else:
            return info
