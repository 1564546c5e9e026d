"""Reading request bodies: media types, size limits, gzip and strict JSON."""

import asyncio
import contextlib
import gzip
import json
import os
import tracemalloc
import zlib
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Message

from trackway.api.body import check_json, read_json
from trackway.api.errors import BodyTimedOut, exception_handlers
from trackway.domain.errors import (
    Invalid,
    PayloadTooLarge,
    TrackwayError,
    UnsupportedMediaType,
)
from trackway.settings import Settings

LIMIT = 4096
SMALL = Settings(max_body_bytes=LIMIT, max_json_depth=8)
JSON_HEADERS = {"content-type": "application/json"}
GZIP_HEADERS = {**JSON_HEADERS, "content-encoding": "gzip"}


class FakeBody:
    """An ASGI `receive` that hands out `chunks` and counts what was taken."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.taken = 0

    async def __call__(self) -> Message:
        more = self.taken < len(self.chunks) - 1
        chunk = self.chunks[self.taken] if self.chunks else b""
        self.taken += 1
        return {"type": "http.request", "body": chunk, "more_body": more}


def read(
    body: bytes | list[bytes],
    headers: dict[str, str] | None = None,
    config: Settings = SMALL,
    allow_text_plain: bool = True,
) -> dict[str, Any]:
    """Run `read_json` on a request carrying `body` (one chunk or several)."""
    chunks = body if isinstance(body, list) else [body]
    return asyncio.run(_read(FakeBody(chunks), headers, config, allow_text_plain))


async def _read(
    receive: "FakeBody | Trickle",
    headers: dict[str, str] | None,
    config: Settings,
    allow_text_plain: bool = True,
) -> dict[str, Any]:
    raw = [(k.encode(), v.encode()) for k, v in (headers or JSON_HEADERS).items()]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": raw}
    request = Request(scope, receive)
    return await read_json(request, config, allow_text_plain=allow_text_plain)


def echo_app(config: Settings = SMALL) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await read_json(request, config)
        return Response(msgspec.json.encode(body), media_type="application/json")

    routes = [Route("/echo", echo, methods=["POST"])]
    return Starlette(routes=routes, exception_handlers=exception_handlers)


def gzipped_zeros(size: int) -> bytes:
    """gzip of `size` zero bytes, made without holding them in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


class TestMediaTypes:
    @pytest.mark.parametrize(
        "content_type",
        ["application/json", "Application/JSON; charset=UTF-8", "text/plain"],
    )
    def test_json_and_beacon_text_are_read(self, content_type: str) -> None:
        body = read(b'{"a": 1}', {"content-type": content_type})

        assert body == {"a": 1}

    def test_text_plain_is_415_where_beacons_are_not_allowed(self) -> None:
        headers = {"content-type": "text/plain"}

        with pytest.raises(UnsupportedMediaType) as raised:
            read(b"{}", headers, allow_text_plain=False)

        expected = "Content-Type must be application/json, not text/plain"
        assert expected == raised.value.problems[0].detail

    @pytest.mark.parametrize(
        "content_type",
        ["application/xml", "multipart/form-data", "application/jsonx", "json"],
    )
    def test_other_content_types_are_415(self, content_type: str) -> None:
        with pytest.raises(UnsupportedMediaType):
            read(b"{}", {"content-type": content_type})

    @pytest.mark.parametrize("charset", ["utf-16", "latin-1", "UTF-32"])
    def test_json_in_another_charset_than_utf8_is_415(self, charset: str) -> None:
        headers = {"content-type": f"application/json; charset={charset}"}

        with pytest.raises(UnsupportedMediaType) as raised:
            read(b"{}", headers)

        assert "UTF-8" in raised.value.problems[0].detail

    def test_a_missing_content_type_is_415(self) -> None:
        with pytest.raises(UnsupportedMediaType) as raised:
            read(b"{}", {"x-other": "1"})

        assert "not none" in raised.value.problems[0].detail

    @pytest.mark.parametrize("coding", ["br", "deflate", "gzip, gzip", "zstd"])
    def test_other_content_encodings_are_415(self, coding: str) -> None:
        headers = {**JSON_HEADERS, "content-encoding": coding}

        with pytest.raises(UnsupportedMediaType):
            read(b"{}", headers)


class TestDisconnects:
    def test_a_client_gone_before_the_body_ends_is_a_400_not_a_500(self) -> None:
        async def gone() -> Message:
            return {"type": "http.disconnect"}

        with pytest.raises(Invalid) as raised:
            asyncio.run(_read(gone, JSON_HEADERS, SMALL))

        assert "closed the connection" in raised.value.problems[0].detail


class TestSizeLimits:
    def test_body_of_exactly_the_limit_is_read(self) -> None:
        body = b'{"a":"' + b"x" * (LIMIT - 8) + b'"}'

        assert len(read(body)["a"]) == LIMIT - 8

    def test_declared_length_over_the_limit_is_413_before_reading(
        self,
    ) -> None:
        receive = FakeBody([b"{}"])
        headers = {**JSON_HEADERS, "content-length": str(LIMIT + 1)}

        with pytest.raises(PayloadTooLarge):
            asyncio.run(_read(receive, headers, SMALL))

        assert receive.taken == 0

    def test_streamed_body_over_the_limit_stops_reading_early(self) -> None:
        chunks = [b"x" * 1024] * 100

        receive = FakeBody(chunks)
        with pytest.raises(PayloadTooLarge):
            asyncio.run(_read(receive, JSON_HEADERS, SMALL))

        assert receive.taken == LIMIT // 1024 + 1

    def test_gzip_compressed_bytes_over_the_limit_are_413(self) -> None:
        noise = gzip.compress(os.urandom(LIMIT * 2))

        with pytest.raises(PayloadTooLarge):
            read(noise, GZIP_HEADERS)

    def test_gzip_bomb_is_413_without_inflating_it(self) -> None:
        """256 MiB of zeros in about 256 KiB of gzip, against a 1 MiB
        limit: memory stays within a few limits of the body."""
        bomb = gzipped_zeros(256 * 1024 * 1024)
        config = Settings()
        chunks = [bomb[i : i + 65536] for i in range(0, len(bomb), 65536)]

        tracemalloc.start()
        try:
            with pytest.raises(PayloadTooLarge):
                read(chunks, GZIP_HEADERS, config)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert peak < 4 * config.max_body_bytes

    def test_chunked_upload_over_the_limit_is_413(self) -> None:
        client = TestClient(echo_app())
        chunks = (b"x" * 512 for _ in range(LIMIT // 128))

        response = client.post("/echo", content=chunks, headers=JSON_HEADERS)

        assert response.status_code == 413


class TestGzip:
    def test_gzip_body_is_inflated(self) -> None:
        body = gzip.compress(b'{"event": "x"}')

        assert read(body, GZIP_HEADERS) == {"event": "x"}

    def test_gzip_inflating_to_exactly_the_limit_is_read(self) -> None:
        text = b'{"a":"' + b"x" * (LIMIT - 8) + b'"}'

        body = read(gzip.compress(text), GZIP_HEADERS)

        assert len(body["a"]) == LIMIT - 8

    def test_gzip_inflating_one_byte_past_the_limit_is_413(self) -> None:
        text = b'{"a":"' + b"x" * (LIMIT - 7) + b'"}'

        with pytest.raises(PayloadTooLarge):
            read(gzip.compress(text), GZIP_HEADERS)

    def test_gzip_sent_in_tiny_chunks_is_inflated(self) -> None:
        packed = gzip.compress(b'{"a": [1, 2, 3]}')
        chunks = [packed[i : i + 3] for i in range(0, len(packed), 3)]

        assert read(chunks, GZIP_HEADERS) == {"a": [1, 2, 3]}

    def test_concatenated_gzip_members_are_one_body(self) -> None:
        body = gzip.compress(b'{"a": ') + gzip.compress(b"1}")

        assert read(body, GZIP_HEADERS) == {"a": 1}

    def test_corrupt_gzip_is_400(self) -> None:
        with pytest.raises(Invalid) as raised:
            read(b"not gzip at all", GZIP_HEADERS)

        assert raised.value.problems[0].detail.startswith("body is not valid gzip")

    def test_truncated_gzip_is_400(self) -> None:
        packed = gzip.compress(b'{"a": 1}')

        with pytest.raises(Invalid) as raised:
            read(packed[:-6], GZIP_HEADERS)

        expected = "body is not valid gzip: it ends too early"
        assert expected == raised.value.problems[0].detail

    @pytest.mark.parametrize("coding", ["identity", "IDENTITY", ""])
    def test_identity_encoding_is_read_as_is(self, coding: str) -> None:
        headers = {**JSON_HEADERS, "content-encoding": coding}

        assert read(b'{"a":1}', headers) == {"a": 1}

    def test_empty_gzip_body_is_400(self) -> None:
        with pytest.raises(Invalid):
            read(b"", GZIP_HEADERS)


class TestStrictJson:
    def test_invalid_json_is_400_with_the_reason(self) -> None:
        with pytest.raises(Invalid) as raised:
            read(b'{"a": }')

        detail = raised.value.problems[0].detail
        assert detail.startswith("body is not valid JSON: invalid character")

    @pytest.mark.parametrize(
        "body",
        [b"", b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}'],
    )
    def test_empty_bodies_and_non_finite_literals_are_400(self, body: bytes) -> None:
        with pytest.raises(Invalid):
            read(body)

    @pytest.mark.parametrize(
        "number", [b"1e400", b"-1e400", b"1e-400", b"0.10", b"0.1000000000000000055511"]
    )
    def test_numbers_a_float_cannot_hold_are_kept_digit_for_digit(
        self, number: bytes
    ) -> None:
        body = read(b'{"a": ' + number + b"}")

        assert Decimal(number.decode()) == body["a"]
        assert str(body["a"]) == str(Decimal(number.decode()))

    @pytest.mark.parametrize(
        "number",
        [
            b"1e9999999999999999999",
            b"-0.1e9999999999999999999",
            b"1e-99999999999999999999",
        ],
    )
    def test_numbers_with_an_exponent_beyond_any_decimal_are_400(
        self, number: bytes
    ) -> None:
        with pytest.raises(Invalid) as raised:
            read(b'{"a": {"b": ' + number + b"}}")

        detail = raised.value.problems[0].detail
        assert detail == "body has a number whose exponent is out of range"

    @pytest.mark.parametrize("text", [rb'"\ud800"', rb'"\udc00x"', rb'"a\ud83d"'])
    def test_lone_surrogates_are_400(self, text: bytes) -> None:
        with pytest.raises(Invalid):
            read(b'{"a": ' + text + b"}")

    def test_nul_in_a_string_is_400_at_its_pointer(self) -> None:
        with pytest.raises(Invalid) as raised:
            read(b'{"event": {"meta": {"noteStr": "a\\u0000b"}}}')

        problem = raised.value.problems[0]
        assert problem.pointer == "/event/meta/noteStr"
        assert problem.detail == "event.meta.noteStr must not contain NUL (\\u0000)"

    def test_nul_in_a_key_is_400_at_its_pointer(self) -> None:
        with pytest.raises(Invalid) as raised:
            read(b'{"custom": {"a\\u0000": 1}}')

        problem = raised.value.problems[0]
        assert problem.pointer == "/custom/a\x00"
        assert problem.detail == "custom has a key that contains NUL (\\u0000)"

    def test_nul_inside_an_array_names_the_index(self) -> None:
        with pytest.raises(Invalid) as raised:
            read(b'{"tags": ["ok", "b\\u0000"]}')

        problem = raised.value.problems[0]
        assert problem.pointer == "/tags/1"
        assert problem.detail.startswith("tags[1] must not contain NUL")

    @pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**30])
    def test_integers_beyond_64_bits_are_400(self, number: int) -> None:
        with pytest.raises(Invalid) as raised:
            read(b'{"meta": {"n": %d}}' % number)

        problem = raised.value.problems[0]
        assert problem.pointer == "/meta/n"
        assert problem.detail == "meta.n is an integer beyond 64 bits"

    @pytest.mark.parametrize(
        "number", [2**64 - 1, -(2**63), 9007199254740993, -9007199254740993]
    )
    def test_integers_within_64_bits_are_kept_exactly(self, number: int) -> None:
        body = read(b'{"n": %d}' % number)

        assert number == body["n"]
        assert isinstance(body["n"], int)

    def test_decimals_are_kept_as_sent(self) -> None:
        body = read(b'{"x": 0.1, "y": 1e-400, "z": 1.7976931348623157e308}')

        assert body == {
            "x": Decimal("0.1"),
            "y": Decimal("1e-400"),
            "z": Decimal("1.7976931348623157e308"),
        }

    def test_nesting_at_the_depth_limit_is_read(self) -> None:
        text = '{"a":' * 7 + "[1]" + "}" * 7

        assert read(text.encode()) == json.loads(text)

    def test_nesting_one_level_deeper_than_the_limit_is_400(self) -> None:
        text = '{"a":' * 8 + "[1]" + "}" * 8

        with pytest.raises(Invalid) as raised:
            read(text.encode())

        assert raised.value.problems[0].detail == "body nests deeper than 8 levels"

    def test_very_deep_nesting_is_400_and_the_next_request_works(self) -> None:
        client = TestClient(echo_app(Settings()))
        deep = b"[" * 200_000 + b"]" * 200_000

        refused = client.post("/echo", content=deep, headers=JSON_HEADERS)
        after = client.post("/echo", json={"a": 1})

        assert refused.status_code == 400
        assert (after.status_code, after.json()) == (200, {"a": 1})

    def test_depth_check_survives_depths_beyond_the_recursion_limit(self) -> None:
        value: Any = 1
        for _ in range(5000):
            value = [value]

        with pytest.raises(Invalid):
            check_json(value, 1000)

    @pytest.mark.parametrize("body", [b"[]", b'"text"', b"1", b"null", b"true"])
    def test_a_body_that_is_not_an_object_is_400(self, body: bytes) -> None:
        with pytest.raises(Invalid) as raised:
            read(body)

        assert raised.value.problems[0].detail == "body must be a JSON object"

    def test_duplicate_keys_keep_the_last_value(self) -> None:
        assert read(b'{"a": 1, "a": 2}') == {"a": 2}

    @pytest.mark.parametrize(
        ("body", "status", "code"),
        [(b"{", 400, "bad_request"), (b"1" * 5000, 413, "payload_too_large")],
    )
    def test_refusals_have_the_canonical_body(
        self, body: bytes, status: int, code: str
    ) -> None:
        client = TestClient(echo_app())

        response = client.post("/echo", content=body, headers=JSON_HEADERS)

        [error] = response.json()["errors"]
        assert (response.status_code, error["code"]) == (status, code)
        assert error["detail"] == error["message"]
        assert "source" not in error


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def acceptable(value: Any) -> bool:
    """What strictness lets through: no NUL, integers within 64 bits."""
    if isinstance(value, dict):
        return all("\x00" not in k and acceptable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(map(acceptable, value))
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**64
    return True


class TestProperties:
    @given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
    @settings(suppress_health_check=[HealthCheck.too_slow])
    def test_a_json_object_round_trips_unless_strictness_refuses_it(
        self, value: dict[str, Any]
    ) -> None:
        text = json.dumps(value).encode()

        if acceptable(value):
            expected = json.loads(text, parse_float=Decimal)
            assert read(text, config=Settings()) == expected
        else:
            with pytest.raises(Invalid):
                read(text, config=Settings())

    @pytest.mark.parametrize("headers", [JSON_HEADERS, GZIP_HEADERS])
    @given(data=st.binary(max_size=300))
    def test_random_bytes_raise_nothing_but_trackway_errors(
        self, headers: dict[str, str], data: bytes
    ) -> None:
        with contextlib.suppress(TrackwayError):
            read(data, headers)

    @given(json_values)
    def test_gzip_of_any_json_reads_as_the_plain_body(self, value: Any) -> None:
        text = json.dumps({"v": value}).encode()

        plain = outcome_of(text, JSON_HEADERS)

        assert outcome_of(gzip.compress(text), GZIP_HEADERS) == plain


def outcome_of(body: bytes, headers: dict[str, str]) -> object:
    """The body read, or the problems that refused it."""
    try:
        return read(body, headers, Settings())
    except Invalid as error:
        return error.problems


class Trickle:
    """An ASGI `receive` that hands out one byte per `every_s` seconds."""

    def __init__(self, body: bytes, every_s: float) -> None:
        self.body = body
        self.every_s = every_s
        self.taken = 0

    async def __call__(self) -> Message:
        await asyncio.sleep(self.every_s)
        chunk = self.body[self.taken : self.taken + 1]
        self.taken += 1
        more = self.taken < len(self.body)
        return {"type": "http.request", "body": chunk, "more_body": more}


class TestBodyDeadline:
    def test_a_body_slower_than_the_body_timeout_is_408(self) -> None:
        config = Settings(body_timeout_seconds=0.2)
        trickle = Trickle(b'{"name": "page-viewed"}', every_s=0.05)

        with pytest.raises(BodyTimedOut) as raised:
            asyncio.run(_read(trickle, None, config))

        assert raised.value.status == 408
        assert raised.value.headers == {"Connection": "close"}
        assert str(raised.value) == "the body did not arrive within 0.2 s"

    def test_a_slow_body_within_the_body_timeout_is_read(self) -> None:
        config = Settings(body_timeout_seconds=5)
        trickle = Trickle(b'{"a": 1}', every_s=0.01)

        body = asyncio.run(_read(trickle, None, config))

        assert body == {"a": 1}
