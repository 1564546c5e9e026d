"""Bad input through the whole server: a clear 4xx, and nothing stored.

Each refusal is checked twice: the answer has the canonical error body, and
every table the write path touches holds exactly the rows it held before.
"""

import asyncio
import gzip
import json
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from httpx2 import Response
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message

from harness import Api, make_api
from trackway.store.database import Database
from trackway.store.tables import metadata

IDENTITY = "/v1/tracking/identity"
EVENT = "/v1/tracking/event"
IDENTITY_EVENT = "/v1/tracking/identityEvent"
ACCOUNT_TABLES = {"orgs", "api_keys"}
MIB = 1024 * 1024
PAGE_VIEWED = {"name": "page-viewed"}
GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


def row_counts(database: Database) -> dict[str, int]:
    """Rows in each table the tracking calls write to."""
    counted = [t for t in metadata.sorted_tables if t.name not in ACCOUNT_TABLES]
    with database.read() as connection:
        return {
            table.name: connection.execute(
                select(func.count()).select_from(table)
            ).scalar_one()
            for table in counted
        }


class Stored:
    """Row counts before a request, to compare with the counts after it."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.before = row_counts(api.database)

    def assert_unchanged(self) -> None:
        assert row_counts(self.api.database) == self.before


def assert_refused(response: Response, status: int, pointer: str | None = None) -> None:
    """`response` is a canonical error body for `status`; with `pointer`,
    one of its problems is at that place in the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    errors = response.json()["errors"]
    assert errors
    for entry in errors:
        assert entry["status"] == str(status)
        assert entry["message"] == entry["detail"]
        assert entry["meta"] == {}
    if pointer is not None:
        pointers = [e.get("source", {}).get("pointer") for e in errors]
        assert pointer in pointers


def post_raw(
    api: Api,
    path: str,
    content: bytes,
    content_type: str = "application/json",
    **headers: str,
) -> Response:
    """POST `content` exactly as given, with the tracking key."""
    sent = {**api.headers(api.tracking_key), "Content-Type": content_type}
    sent.update({k.replace("_", "-"): v for k, v in headers.items()})
    return api.client.post(path, content=content, headers=sent)


def refuse(
    api: Api, path: str, body: object, status: int = 400, pointer: str | None = None
) -> None:
    """Post `body` and check it is refused with nothing stored."""
    stored = Stored(api)

    response = api.post(path, body, key=api.tracking_key)

    assert_refused(response, status, pointer)
    stored.assert_unchanged()


def identify(api: Api, identity: dict[str, Any]) -> dict[str, Any]:
    """Post an identity call that must succeed; its resource."""
    response = api.post(IDENTITY, identity, key=api.tracking_key)
    assert response.status_code == 201, response.text
    resource: dict[str, Any] = response.json()["data"]
    return resource


def customer_id_of(resource: dict[str, Any]) -> str:
    customer: str = resource["relationships"]["customer"]["data"]["id"]
    return customer


def customer(api: Api, customer_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/customers/{customer_id}")
    assert response.status_code == 200
    attributes: dict[str, Any] = response.json()["data"]["attributes"]
    return attributes


def timeline_text(api: Api, customer_id: str) -> str:
    response = api.get(f"/v1/customers/{customer_id}/timeline")
    assert response.status_code == 200
    return response.text


def tracking_events(api: Api, customer_id: str) -> list[dict[str, Any]]:
    data = json.loads(timeline_text(api, customer_id))["data"]
    return [e["attributes"] for e in data if "trackingEvent" in e["attributes"]]


@pytest.fixture
def us_api(database_url: str) -> Iterator[Api]:
    """A server whose phone numbers without `+` are read as US numbers."""
    yield from make_api(database_url, default_phone_region="US")


class TestUnknownKeys:
    @pytest.mark.parametrize(
        ("path", "body", "pointer"),
        [
            (IDENTITY, {"email": "jane@example.com", "nick": "J"}, "/nick"),
            (EVENT, {**PAGE_VIEWED, "when": "now"}, "/when"),
            (
                IDENTITY_EVENT,
                {"identity": {}, "event": PAGE_VIEWED, "extra": 1},
                "/extra",
            ),
            (
                IDENTITY_EVENT,
                {"identity": {"emial": "jane@example.com"}, "event": PAGE_VIEWED},
                "/identity/emial",
            ),
            (
                IDENTITY_EVENT,
                {"identity": {}, "event": {**PAGE_VIEWED, "properties": {}}},
                "/event/properties",
            ),
            (
                IDENTITY,
                {"email": "jane@example.com", "location": {"street": "Main"}},
                "/location/street",
            ),
            (
                IDENTITY_EVENT,
                {
                    "identity": {"location": {"cityName": "Oslo", "planet": "E"}},
                    "event": PAGE_VIEWED,
                },
                "/identity/location/planet",
            ),
        ],
    )
    def test_an_unknown_key_at_any_level_is_400_naming_it(
        self, api: Api, path: str, body: object, pointer: str
    ) -> None:
        refuse(api, path, body, pointer=pointer)


class TestEventNames:
    @pytest.mark.parametrize(
        "name",
        ["page viewed", "p", "p" * 256, "page-viewed\n", "", "1page", "-page"],
    )
    def test_an_invalid_event_name_is_400(self, api: Api, name: str) -> None:
        refuse(api, EVENT, {"name": name}, pointer="/name")

    def test_an_invalid_event_name_in_a_combined_call_is_400(self, api: Api) -> None:
        body = {"identity": {"email": "jane@example.com"}, "event": {"name": "p"}}

        refuse(api, IDENTITY_EVENT, body, pointer="/event/name")

    @pytest.mark.parametrize("name", ["pv", "p" * 255, "Checkout.step-2_done"])
    def test_valid_event_names_up_to_255_characters_are_recorded(
        self, api: Api, name: str
    ) -> None:
        response = api.post(EVENT, {"name": name}, key=api.tracking_key)

        assert response.status_code == 204


PLACEHOLDERS = [
    "",
    "   ",
    "\t\n",
    "undefined",
    "null",
    "[object Object]",
    "None",
    "NaN",
    "0",
    " Undefined ",
]


class TestIdentifiers:
    @pytest.mark.parametrize("field", ["email", "externalId", "phone"])
    @pytest.mark.parametrize("value", PLACEHOLDERS)
    def test_a_placeholder_identifier_is_400_naming_the_field(
        self, api: Api, field: str, value: str
    ) -> None:
        refuse(api, IDENTITY, {field: value}, pointer=f"/{field}")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("externalId", "x" * 257),
            ("email", "a" * 245 + "@example.com"),
            ("phone", "+1" + "4" * 255),
        ],
    )
    def test_an_identifier_of_257_characters_is_400(
        self, api: Api, field: str, value: str
    ) -> None:
        assert len(value) == 257

        refuse(api, IDENTITY, {field: value}, pointer=f"/{field}")

    def test_an_externalid_of_257_characters_never_matches_its_prefix(
        self, api: Api
    ) -> None:
        kept = identify(api, {"externalId": "x" * 256, "name": "Prefix"})
        before = customer(api, customer_id_of(kept))

        refuse(api, IDENTITY, {"externalId": "x" * 257, "name": "Longer"})

        assert customer(api, customer_id_of(kept)) == before
        assert before["externalId"] == "x" * 256

    def test_emails_differing_in_case_and_spaces_are_one_customer(
        self, api: Api
    ) -> None:
        first = identify(api, {"email": "jane.roe@example.com"})

        second = identify(api, {"email": "  Jane.Roe@EXAMPLE.com\t"})

        assert customer_id_of(second) == customer_id_of(first)
        assert second["attributes"]["status"] == "updated"
        emails = customer(api, customer_id_of(first))["emails"]
        assert [e["email"] for e in emails] == ["jane.roe@example.com"]

    def test_an_email_with_an_inner_space_is_400(self, api: Api) -> None:
        refuse(api, IDENTITY, {"email": "jane roe@example.com"}, pointer="/email")

    def test_one_phone_in_three_spellings_is_one_customer(self, us_api: Api) -> None:
        first = identify(us_api, {"phone": "+1 415-555-0100"})

        second = identify(us_api, {"phone": "(415) 555-0100"})
        third = identify(us_api, {"phone": "+14155550100"})

        assert customer_id_of(second) == customer_id_of(first)
        assert customer_id_of(third) == customer_id_of(first)
        phones = customer(us_api, customer_id_of(first))["phones"]
        assert [p["phone"] for p in phones] == ["+14155550100"]

    def test_a_phone_without_plus_needs_a_default_region(self, api: Api) -> None:
        refuse(api, IDENTITY, {"phone": "(415) 555-0100"}, pointer="/phone")

    @pytest.mark.parametrize("phone", ["call me", "+1 555", "+999 123456"])
    def test_an_unparseable_phone_is_400(self, us_api: Api, phone: str) -> None:
        refuse(us_api, IDENTITY, {"phone": phone}, pointer="/phone")


class TestDates:
    def test_a_birthday_date_is_returned_as_that_date(self, api: Api) -> None:
        resource = identify(
            api, {"email": "jane@example.com", "birthdayAt": "1992-07-04"}
        )

        attributes = customer(api, customer_id_of(resource))

        assert attributes["birthdayAt"] == "1992-07-04"

    @pytest.mark.parametrize(
        "birthday", ["2023-02-30", "0000-00-00", "1985-13-01", "15/05/1985", 19850515]
    )
    def test_an_invalid_birthday_is_400(self, api: Api, birthday: object) -> None:
        body = {"email": "jane@example.com", "birthdayAt": birthday}

        refuse(api, IDENTITY, body, pointer="/birthdayAt")

    def test_a_date_time_without_offset_is_read_as_utc(self, api: Api) -> None:
        body = {"email": "jane@example.com", "signedUpAt": "2024-01-04T11:45:38"}
        resource = identify(api, body)

        attributes = customer(api, customer_id_of(resource))

        assert attributes["signedUpAt"] == "2024-01-04T11:45:38.000Z"

    @pytest.mark.parametrize(
        ("sent", "returned"),
        [
            ("2024-01-04T11:45:38+02:00", "2024-01-04T09:45:38.000Z"),
            ("2024-01-04T11:45:38.123456789Z", "2024-01-04T11:45:38.123Z"),
            ("0999-01-01T00:00:00Z", "0999-01-01T00:00:00.000Z"),
        ],
    )
    def test_a_date_time_comes_back_in_utc_with_milliseconds(
        self, api: Api, sent: str, returned: str
    ) -> None:
        body = {"email": "jane@example.com", "signedUpAt": sent}
        resource = identify(api, body)

        attributes = customer(api, customer_id_of(resource))

        assert attributes["signedUpAt"] == returned

    @pytest.mark.parametrize(
        "birthday", ["1992-07-04T23:30:00-05:00", "1992-07-04T00:30:00+14:00"]
    )
    def test_a_birthday_date_time_keeps_its_calendar_date(
        self, api: Api, birthday: str
    ) -> None:
        body = {"email": "jane@example.com", "birthdayAt": birthday}
        resource = identify(api, body)

        attributes = customer(api, customer_id_of(resource))

        assert attributes["birthdayAt"] == "1992-07-04"

    @pytest.mark.parametrize(
        "signed_up",
        ["2024-02-30T10:00:00Z", "2024-01-04", "yesterday", 1704368738],
    )
    def test_an_invalid_date_time_is_400(self, api: Api, signed_up: object) -> None:
        body = {"email": "jane@example.com", "signedUpAt": signed_up}

        refuse(api, IDENTITY, body, pointer="/signedUpAt")


class TestStrings:
    @pytest.mark.parametrize(
        "raw",
        [
            b'{"email": "jane@example.com", "name": "Ja\\u0000ne"}',
            b'{"email": "jane@example.com", "custom": {"no\\u0000teStr": "x"}}',
        ],
        ids=["in a string", "in a key"],
    )
    def test_a_nul_character_is_400(self, api: Api, raw: bytes) -> None:
        stored = Stored(api)

        response = post_raw(api, IDENTITY, raw)

        assert_refused(response, 400)
        stored.assert_unchanged()

    @pytest.mark.parametrize(
        "text", [b"\\ud800", b"\\udfff", b"x\\ud83dy", b"\\ude00\\ud83d"]
    )
    def test_a_lone_surrogate_is_400(self, api: Api, text: bytes) -> None:
        raw = b'{"email": "jane@example.com", "name": "' + text + b'"}'
        stored = Stored(api)

        response = post_raw(api, IDENTITY, raw)

        assert_refused(response, 400)
        stored.assert_unchanged()

    def test_emoji_are_kept_and_returned_byte_identical(self, api: Api) -> None:
        name = "Zoë 😀 — 東京 👩🏽‍💻"
        raw = json.dumps(
            {"email": "zoe@example.com", "name": name}, ensure_ascii=False
        ).encode()
        escaped = b'{"email": "zoe2@example.com", "name": "\\ud83d\\ude00"}'

        answer = post_raw(api, IDENTITY, raw)
        answer_escaped = post_raw(api, IDENTITY, escaped)

        assert answer.status_code == 201
        read = api.get(f"/v1/customers/{customer_id_of(answer.json()['data'])}")
        assert read.json()["data"]["attributes"]["name"] == name
        assert name.encode() in read.content
        other = customer_id_of(answer_escaped.json()["data"])
        assert customer(api, other)["name"] == "😀"


class TestNumbers:
    @pytest.mark.parametrize(
        "number",
        [b"NaN", b"Infinity", b"-Infinity", b"1" * 30, b"-" + b"9" * 30],
    )
    def test_non_finite_and_oversized_numbers_are_400(
        self, api: Api, number: bytes
    ) -> None:
        raw = b'{"name": "page-viewed", "meta": {"countNum": ' + number + b"}}"
        stored = Stored(api)

        response = post_raw(api, EVENT, raw)

        assert_refused(response, 400)
        stored.assert_unchanged()

    def test_a_big_integer_in_meta_is_kept_exactly(self, api: Api) -> None:
        raw = (
            b'{"identity": {"email": "jane@example.com"}, "event": '
            b'{"name": "page-viewed", "meta": {"countNum": 9007199254740993}}}'
        )
        answer = post_raw(api, IDENTITY_EVENT, raw)

        text = timeline_text(api, customer_id_of(answer.json()["data"]))

        assert '"countNum":9007199254740993' in text.replace(" ", "")

    @pytest.mark.parametrize(
        "number", ["0.10", "1E+400", "1E-400", "3.14159265358979323846"]
    )
    def test_other_numbers_come_back_digit_for_digit(
        self, api: Api, number: str
    ) -> None:
        raw = (
            b'{"identity": {"email": "jane@example.com"}, "event": '
            b'{"name": "page-viewed", "meta": {"ratioNum": ' + number.encode() + b"}}}"
        )
        answer = post_raw(api, IDENTITY_EVENT, raw)

        text = timeline_text(api, customer_id_of(answer.json()["data"]))

        assert f'"ratioNum":{number}' in text.replace(" ", "")


class TestStructure:
    def test_nesting_10000_deep_is_400_and_the_next_request_works(
        self, api: Api
    ) -> None:
        depth = 10_000
        raw = b'{"name": "page-viewed", "meta": {"deep": '
        raw += b"[" * depth + b"]" * depth + b"}}"
        stored = Stored(api)

        refused = post_raw(api, EVENT, raw)
        stored.assert_unchanged()
        after = api.post(EVENT, PAGE_VIEWED, key=api.tracking_key)

        assert_refused(refused, 400)
        assert after.status_code == 204

    @pytest.mark.parametrize(
        ("path", "body", "pointer"),
        [
            (IDENTITY, [{"email": "jane@example.com"}], None),
            (EVENT, "page-viewed", None),
            (IDENTITY_EVENT, {"identity": [], "event": PAGE_VIEWED}, "/identity"),
            (EVENT, {**PAGE_VIEWED, "meta": "cartNum=3"}, "/meta"),
            (IDENTITY, {"email": "jane@example.com", "tags": "vip"}, "/tags"),
            (IDENTITY, {"email": "jane@example.com", "custom": []}, "/custom"),
            (IDENTITY, {"externalId": 42}, "/externalId"),
            (IDENTITY, {"email": "jane@example.com", "remember": "no"}, "/remember"),
            (
                IDENTITY,
                {"email": "jane@example.com", "location": {"latitude": 91}},
                "/location/latitude",
            ),
            (
                IDENTITY,
                {"email": "jane@example.com", "location": {"countryCode": "NOR"}},
                "/location/countryCode",
            ),
        ],
        ids=[
            "body array",
            "body string",
            "identity array",
            "meta string",
            "tags string",
            "custom array",
            "externalId number",
            "remember string",
            "latitude out of range",
            "country code of 3",
        ],
    )
    def test_a_value_of_the_wrong_json_type_is_400(
        self, api: Api, path: str, body: object, pointer: str | None
    ) -> None:
        refuse(api, path, body, pointer=pointer)

    @pytest.mark.parametrize(
        ("path", "body", "pointer"),
        [
            (
                EVENT,
                {**PAGE_VIEWED, "meta": {f"k{n}": "v" for n in range(101)}},
                "/meta",
            ),
            (
                IDENTITY,
                {
                    "email": "j@example.com",
                    "custom": {f"k{n}": "v" for n in range(101)},
                },
                "/custom",
            ),
            (EVENT, {**PAGE_VIEWED, "meta": {"noteStr": "x" * 1025}}, "/meta/noteStr"),
            (
                IDENTITY,
                {"email": "j@example.com", "tags": [f"t{n}" for n in range(21)]},
                "/tags",
            ),
            (IDENTITY, {"email": "j@example.com", "name": "x" * 257}, "/name"),
            (EVENT, {**PAGE_VIEWED, "trackingId": "v" * 257}, "/trackingId"),
            (EVENT, {**PAGE_VIEWED, "sessionId": ""}, "/sessionId"),
        ],
        ids=[
            "101 meta keys",
            "101 custom keys",
            "Str over 1024",
            "21 tags",
            "name of 257",
            "trackingId of 257",
            "empty sessionId",
        ],
    )
    def test_a_value_over_its_limit_is_400(
        self, api: Api, path: str, body: object, pointer: str
    ) -> None:
        refuse(api, path, body, pointer=pointer)

    def test_meta_values_that_are_objects_are_400(self, api: Api) -> None:
        body = {**PAGE_VIEWED, "meta": {"cart": {"items": 3}}}

        refuse(api, EVENT, body, pointer="/meta/cart")


class TestBodySize:
    def test_a_2_mib_body_is_413(self, api: Api) -> None:
        body = {**PAGE_VIEWED, "meta": {"paddingTxt": "x" * (2 * MIB)}}

        refuse(api, EVENT, body, status=413)

    def test_a_2_mib_body_sent_without_a_length_is_413(self, api: Api) -> None:
        def chunks() -> Iterator[bytes]:
            yield b'{"name": "page-viewed", "meta": {"paddingTxt": "'
            for _ in range(32):
                yield b"x" * (64 * 1024)
            yield b'"}}'

        stored = Stored(api)

        response = api.client.post(
            EVENT,
            content=chunks(),
            headers={**api.headers(api.tracking_key), "Content-Type": "text/plain"},
        )

        assert "content-length" not in response.request.headers
        assert_refused(response, 413)
        stored.assert_unchanged()


def gzip_of_zeros(size: int) -> Iterator[bytes]:
    """A gzip stream of `size` zero bytes, made one MiB at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MIB)
    for start in range(0, size, MIB):
        if chunk := packer.compress(block[: min(MIB, size - start)]):
            yield chunk
    yield packer.flush()


class Upload:
    """Counts how much of a lazily made body the server asked for."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.taken = 0

    async def receive(self) -> Message:
        chunk = next(self.chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        self.taken += 1
        return {"type": "http.request", "body": chunk, "more_body": True}


def post_lazily(
    app: ASGIApp, path: str, headers: dict[str, str], upload: Upload
) -> tuple[int, bytes]:
    """POST straight to the ASGI app, handing out the body only as it is
    read (the test client would gather it all first)."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(app(scope, upload.receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(
        m.get("body", b"") for m in sent if m["type"] == "http.response.body"
    )
    return start["status"], body


class TestGzip:
    def test_a_gzip_body_is_accepted(self, api: Api) -> None:
        packed = gzip.compress(json.dumps(PAGE_VIEWED).encode())

        response = post_raw(api, EVENT, packed, Content_Encoding="gzip")

        assert response.status_code == 204

    def test_a_corrupt_gzip_body_is_400(self, api: Api) -> None:
        packed = gzip.compress(json.dumps(PAGE_VIEWED).encode())
        corrupt = packed[:10] + b"\xff" * 8 + packed[18:]
        stored = Stored(api)

        response = post_raw(api, EVENT, corrupt, Content_Encoding="gzip")

        assert_refused(response, 400)
        stored.assert_unchanged()

    def test_a_1_kib_gzip_inflating_past_the_limit_is_413(self, api: Api) -> None:
        packed = b"".join(gzip_of_zeros(api.settings.max_body_bytes + 1))
        assert len(packed) < 1100
        stored = Stored(api)

        response = post_raw(api, EVENT, packed, Content_Encoding="gzip")

        assert_refused(response, 413)
        stored.assert_unchanged()

    def test_a_gzip_of_1_gib_is_413_without_inflating_it_whole(self, api: Api) -> None:
        upload = Upload(gzip_of_zeros(1024 * MIB))
        headers = {**GZIP_JSON, **api.headers(api.tracking_key)}
        stored = Stored(api)
        tracemalloc.start()

        try:
            status, body = post_lazily(api.client.app, EVENT, headers, upload)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert status == 413, body
        assert json.loads(body)["errors"][0]["code"] == "payload_too_large"
        # A MiB of zeros packs to about 1 KiB: the server stopped reading
        # after a few MiB of inflated bytes, not 1 GiB.
        assert upload.taken < 16
        assert peak < 100 * MIB
        stored.assert_unchanged()

    def test_a_gzip_bomb_without_a_key_is_401_before_any_byte_is_read(
        self, api: Api
    ) -> None:
        upload = Upload(gzip_of_zeros(1024 * MIB))

        status, body = post_lazily(api.client.app, EVENT, GZIP_JSON, upload)

        assert status == 401, body
        assert upload.taken == 0


# Bodies with a flaw of their own, sent with a missing or wrong key.
FLAWED_BODIES: dict[str, tuple[bytes, dict[str, str]]] = {
    "xml": (b"<event/>", {"Content-Type": "application/xml"}),
    "2 MiB": (b'{"name": "' + b"x" * (2 * MIB) + b'"}', {}),
    "corrupt gzip": (b"\x1f\x8b\x08\x00broken", {"Content-Encoding": "gzip"}),
    "not json": (b"{name: page-viewed}", {}),
    "brotli": (b"\x0b\x02\x80", {"Content-Encoding": "br"}),
}


class TestKeyFirst:
    @pytest.mark.parametrize("problem", list(FLAWED_BODIES))
    @pytest.mark.parametrize(("with_read_key", "status"), [(False, 401), (True, 403)])
    def test_the_key_is_checked_before_the_body(
        self, api: Api, problem: str, with_read_key: bool, status: int
    ) -> None:
        content, headers = FLAWED_BODIES[problem]
        sent = {"Content-Type": "application/json", **headers}
        if with_read_key:
            sent.update(api.headers(api.read_key))
        stored = Stored(api)

        response = api.client.post(EVENT, content=content, headers=sent)

        assert_refused(response, status)
        stored.assert_unchanged()


class TestMediaTypes:
    def test_json_sent_as_text_plain_is_accepted(self, api: Api) -> None:
        raw = json.dumps(PAGE_VIEWED).encode()

        response = post_raw(api, EVENT, raw, "text/plain;charset=UTF-8")

        assert response.status_code == 204

    @pytest.mark.parametrize(
        "media", ["application/xml", "multipart/form-data", "text/html"]
    )
    def test_other_media_types_are_415(self, api: Api, media: str) -> None:
        stored = Stored(api)

        response = post_raw(api, EVENT, json.dumps(PAGE_VIEWED).encode(), media)

        assert_refused(response, 415)
        stored.assert_unchanged()


HOSTILE = [
    'O\'Brien "the quote" \\ back',
    "'; DROP TABLE customers; --",
    "<script>alert('x')</script>",
    "Robert'); DELETE FROM events WHERE ('1'='1",
    "&lt;b&gt; &amp; %s %(name)s {0} ${x}",
]


class TestHostileStrings:
    @pytest.mark.parametrize("text", HOSTILE)
    def test_every_string_field_is_stored_and_returned_byte_identical(
        self, api: Api, text: str
    ) -> None:
        location = {
            field: text
            for field in (
                "name",
                "address",
                "address2",
                "address3",
                "countryName",
                "regionName",
                "cityName",
            )
        }
        location.update(zipCode=text[:30], areaCode=text[-30:])
        identity = {
            "trackingId": text,
            "sessionId": text + " session",
            "externalId": text,
            "email": "o'brien@example.com",
            "name": text,
            "company": text,
            "username": text,
            "tags": [text, text.upper()],
            "custom": {"noteStr": text, "bioTxt": text, "crmId": text},
            "location": location,
        }
        event = {
            "name": "drop.TABLE--customers",
            "meta": {"query": text, "refererUrl": "https://example.com/?q=" + text},
        }

        answer = api.post(
            IDENTITY_EVENT, {"identity": identity, "event": event}, api.tracking_key
        )

        assert answer.status_code == 201, answer.text
        assert answer.json()["data"]["attributes"]["trackingId"] == text
        customer_id = customer_id_of(answer.json()["data"])
        attributes = customer(api, customer_id)
        for field in ("externalId", "name", "company", "username", "custom"):
            assert attributes[field] == identity[field]
        assert attributes["tags"] == identity["tags"]
        assert attributes["locations"] == [location]
        assert attributes["emails"][0]["email"] == "o'brien@example.com"
        [recorded] = tracking_events(api, customer_id)
        assert recorded["trackingEvent"] == "tracking.drop.TABLE--customers"
        assert recorded["meta"] == event["meta"]
        assert recorded["trackingId"] == text
        assert recorded["sessionId"] == text + " session"

    @pytest.mark.parametrize("text", HOSTILE)
    def test_a_hostile_external_id_is_found_by_lookup(
        self, api: Api, text: str
    ) -> None:
        resource = identify(api, {"externalId": text})
        quoted = "".join(f"%{byte:02X}" for byte in text.encode())

        response = api.get(f"/v1/customers/externalId={quoted}")

        assert response.status_code == 200
        assert response.json()["data"]["id"] == customer_id_of(resource)


@pytest.mark.parametrize(
    "url",
    [
        "/v1/customers/externalId=%00",
        "/v1/customers/email=a%00b@example.com",
        "/v1/customers/0123456789abcdef01234567/sessions/%00/events",
        "/v1/customers/0123456789abcdef01234567/timeline?cursor=a%00",
        "/console/customers?q=%00",
        "/console/live?name=a%00",
    ],
)
def test_a_nul_in_the_url_is_refused_on_every_backend(api: Api, url: str) -> None:
    # PostgreSQL refuses NUL in text: without the check these were 500s.
    assert_refused(api.get(url, api.read_key), 400)
