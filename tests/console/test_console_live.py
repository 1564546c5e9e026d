"""The live page and its stream of server-sent events."""

import json
import re
from typing import Any

import pytest
from starlette.applications import Starlette

from console_client import Console
from harness import Api
from segment_helpers import send_batch
from trackway.console import live
from trackway.console.live import Rejected
from trackway.domain import roles
from trackway.domain.ids import new_id
from trackway.domain.model import TrackingEvent
from trackway.domain.times import format_ms, now_ms
from trackway.store import accounts
from trackway.store.database import Database
from trackway.store.ledger import SqlLedger


@pytest.fixture
def reader(console: Console, api: Api) -> Console:
    assert console.sign_in(api.read_key).status_code == 303
    return console


@pytest.fixture
def one_look(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streams end after their first look, so a test reads them whole."""
    monkeypatch.setattr(live, "STREAM_SECONDS", 0.0)


def send(api: Api, name: str, visitor: str = "visitor-1") -> None:
    body = {"name": name, "trackingId": visitor, "meta": {"planStr": "pro"}}
    response = api.post("/v1/tracking/event", body, api.tracking_key)
    assert response.status_code == 204, response.text


def written(api: Api, name: str, created_at: int) -> None:
    """An event stored as if its transaction stamped `created_at`."""
    event = TrackingEvent(
        org_id=api.org_id,
        id=new_id(created_at / 1000),
        customer_id=None,
        tracking_id="visitor-1",
        session_id="session-1",
        name=name,
        meta={},
        published_at=created_at,
        created_at=created_at,
    )
    with api.database.write() as connection:
        SqlLedger(connection).insert_event(event)


def messages(body: str) -> list[tuple[str, Any]]:
    """The (event type, data) of each message of a stream that has data."""
    found = []
    for block in body.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def ids_of(body: str) -> list[str]:
    return [line[4:] for line in body.splitlines() if line.startswith("id: ")]


class TestLivePage:
    def test_the_page_lists_the_latest_events_and_where_to_stream_them(
        self, reader: Console, api: Api
    ) -> None:
        send(api, "page-viewed")
        send(api, "checkout-started")

        page = reader.get("/console/live")

        assert page.status_code == 200
        assert page.text.index("checkout-started") < page.text.index("page-viewed")
        stream = re.search(
            r'data-stream="/console/live/stream\?name=&amp;since=(\d+)"', page.text
        )
        assert stream is not None
        assert int(stream.group(1)) < now_ms()

    def test_a_name_keeps_only_events_of_that_name(
        self, reader: Console, api: Api
    ) -> None:
        send(api, "page-viewed")
        send(api, "checkout-started")

        page = reader.get("/console/live?name=checkout-started")

        assert "<code>page-viewed</code>" not in page.text
        assert "<code>checkout-started</code>" in page.text
        assert "/console/live/stream?name=checkout-started" in page.text

    def test_the_segment_door_s_refusals_are_listed_beside_the_events(
        self, reader: Console, api: Api
    ) -> None:
        send_batch(api, [{"type": "track", "userId": "u-1"}])

        page = reader.get("/console/live")

        assert 'id="live-rejected"' in page.text
        assert '<span class="summary">track</span>' in page.text


class TestLiveStream:
    def test_events_written_just_before_come_as_tracking_messages(
        self, reader: Console, api: Api, one_look: None
    ) -> None:
        send(api, "checkout-started", "visitor-9")

        response = reader.get("/console/live/stream")

        assert response.headers["content-type"].startswith("text/event-stream")
        [(kind, item)] = messages(response.text)
        assert kind == "tracking"
        assert item["name"] == "checkout-started"
        assert item["trackingId"] == "visitor-9"
        assert item["meta"] == [["planStr", "pro"]]
        assert item["customer"] is None

    def test_a_reconnect_resumes_from_the_id_it_saw(
        self, reader: Console, api: Api, one_look: None
    ) -> None:
        resume = now_ms() - 10_000
        written(api, "before-the-gap", resume - 1)
        written(api, "after-the-gap", resume)

        response = reader.get("/console/live/stream", **{"Last-Event-ID": str(resume)})

        names = [item["name"] for _, item in messages(response.text)]
        assert names == ["after-the-gap"]
        assert ids_of(response.text) == [str(resume)]

    def test_a_new_stream_starts_where_its_page_says(
        self, reader: Console, api: Api, one_look: None
    ) -> None:
        since = now_ms() - 10_000
        written(api, "before-the-page", since - 1)
        written(api, "after-the-page", since)

        response = reader.get(f"/console/live/stream?since={since}")

        assert [i["name"] for _, i in messages(response.text)] == ["after-the-page"]

    def test_the_name_filter_applies_to_the_stream(
        self, reader: Console, api: Api, one_look: None
    ) -> None:
        send(api, "page-viewed")
        send(api, "checkout-started")

        response = reader.get("/console/live/stream?name=page-viewed")

        assert [i["name"] for _, i in messages(response.text)] == ["page-viewed"]

    def test_without_sign_in_the_stream_is_refused_so_the_browser_stops(
        self, console: Console
    ) -> None:
        response = console.get("/console/live/stream")

        assert response.status_code == 401

    def test_rejected_messages_stream_beside_events_when_a_store_exists(
        self, reader: Console, api: Api, one_look: None
    ) -> None:
        at = now_ms()

        def rejected(db: Database, org_id: str, since: int, limit: int) -> Any:
            assert org_id == api.org_id
            return [Rejected("m-1", at, "userId is empty", "identify")]

        app = api.client.app
        assert isinstance(app, Starlette)
        app.state.rejected_messages = rejected

        page = reader.get("/console/live")
        stream = reader.get("/console/live/stream")

        assert "userId is empty" in page.text
        expected = {
            "id": "m-1",
            "receivedAt": format_ms(at),
            "arrived": at,
            "reason": "userId is empty",
            "summary": "identify",
        }
        assert ("rejected", expected) in messages(stream.text)


class TestEventOnlyReader:
    """A key that reads events but not customers sees each event's customer
    by id, as the events API shows it, and no refused messages."""

    @pytest.fixture
    def event_reader(self, console: Console, api: Api) -> Console:
        key = accounts.create_key(api.database, api.org_id, [roles.EVENT_READ])
        assert console.sign_in(key).status_code == 303
        return console

    def identified(self, api: Api) -> str:
        body = {
            "identity": {"email": "jane@example.com", "name": "Jane Doe"},
            "event": {"name": "checkout-started"},
        }
        response = api.post("/v1/tracking/identityEvent", body, api.tracking_key)
        customer_id: str = response.json()["data"]["relationships"]["customer"]["data"][
            "id"
        ]
        return customer_id

    def test_the_page_names_no_customer_and_withholds_refusals(
        self, event_reader: Console, api: Api
    ) -> None:
        customer_id = self.identified(api)
        send_batch(api, [{"type": "track", "userId": "u-1"}])

        page = event_reader.get("/console/live")

        assert f"<code>{customer_id}</code>" in page.text
        assert "Jane Doe" not in page.text
        assert f"/console/customers/{customer_id}" not in page.text
        assert 'id="live-rejected"' not in page.text

    def test_the_stream_names_no_customer_and_sends_no_refusals(
        self, event_reader: Console, api: Api, one_look: None
    ) -> None:
        customer_id = self.identified(api)
        send_batch(api, [{"type": "track", "userId": "u-1"}])

        response = event_reader.get("/console/live/stream")

        [(kind, item)] = messages(response.text)
        assert kind == "tracking"
        assert item["customer"] == {
            "id": customer_id,
            "name": customer_id,
            "link": None,
        }
