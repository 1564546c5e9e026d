"""The console's pages: overview, customer search, a customer, a session.

Customers are made through the tracking API, so the pages show what the
write path stored.
"""

import re

import pytest

from console_client import Console
from factories import add_customer
from harness import Api
from trackway.domain import roles
from trackway.store import accounts

JANE = {
    "identity": {
        "trackingId": "visitor-42",
        "sessionId": "tab-1",
        "name": "Jane Doe",
        "externalId": "user-42",
        "email": "Jane.Doe@Example.com",
        "phone": "+14155550100",
        "tags": ["beta"],
        "custom": {"planStr": "pro"},
    },
    "event": {"name": "checkout-started", "meta": {"cartTotalNum": 42.5}},
}


def make_jane(api: Api) -> str:
    """Jane, then a second call that renames her; her customer id."""
    made = api.post("/v1/tracking/identityEvent", JANE)
    assert made.status_code == 201, made.text
    rename = {"trackingId": "visitor-42", "sessionId": "tab-1", "name": "Jane Roe"}
    assert api.post("/v1/tracking/identity", rename).status_code == 201
    customer_id: str = made.json()["data"]["relationships"]["customer"]["data"]["id"]
    return customer_id


@pytest.fixture
def reader(console: Console, api: Api) -> Console:
    """The console, signed in with the read key."""
    assert console.sign_in(api.read_key).status_code == 303
    return console


def text_of(html: str) -> str:
    """The page's text with tags and runs of whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class TestOverview:
    def test_a_customer_reader_sees_events_and_new_customers_per_day(
        self, reader: Console, api: Api
    ) -> None:
        make_jane(api)

        page = reader.get("/console")

        assert page.status_code == 200
        assert page.text.count("<svg") == 2
        assert "1 event from" in text_of(page.text)
        assert "1 customer from" in text_of(page.text)

    def test_an_event_reader_sees_no_customer_figures_or_links(
        self, console: Console, api: Api
    ) -> None:
        key = accounts.create_key(api.database, api.org_id, [roles.EVENT_READ])
        console.sign_in(key)

        page = console.get("/console")

        assert page.text.count("<svg") == 1
        assert 'href="/console/customers"' not in page.text


class TestSearch:
    @pytest.mark.parametrize("typed", ["jane roe", "jane.doe@", "user-42", "555 0100"])
    def test_a_customer_is_found_by_name_email_external_id_or_phone(
        self, reader: Console, api: Api, typed: str
    ) -> None:
        customer_id = make_jane(api)

        page = reader.get(f"/console/customers?q={typed}")

        assert page.status_code == 200
        assert f'href="/console/customers/{customer_id}"' in page.text
        assert "jane.doe@example.com" in page.text

    def test_a_search_that_matches_nobody_says_so(self, reader: Console) -> None:
        page = reader.get("/console/customers?q=nobody")

        assert "No customer matches “nobody”." in page.text

    def test_search_text_over_256_characters_is_refused_by_name(
        self, reader: Console
    ) -> None:
        page = reader.get("/console/customers?q=" + "x" * 257)

        assert page.status_code == 400
        assert "q has at most 256 characters" in page.text

    @pytest.mark.parametrize("number", ["0", "two", "-1", "99999"])
    def test_a_bad_page_number_is_refused_by_name(
        self, reader: Console, number: str
    ) -> None:
        page = reader.get(f"/console/customers?page={number}")

        assert page.status_code == 400
        assert "page must be a whole number from 1" in page.text

    def test_an_event_reader_may_not_search_customers(
        self, console: Console, api: Api
    ) -> None:
        key = accounts.create_key(api.database, api.org_id, [roles.EVENT_READ])
        console.sign_in(key)

        page = console.get("/console/customers")

        assert page.status_code == 403
        assert "This key may not see this page" in page.text


class TestCustomerPage:
    def test_the_page_shows_profile_session_events_changes_and_visitors(
        self, reader: Console, api: Api
    ) -> None:
        customer_id = make_jane(api)

        page = reader.get(f"/console/customers/{customer_id}")
        text = text_of(page.text)

        assert page.status_code == 200
        assert "<h1>Jane Roe</h1>" in page.text
        for shown in ("user-42", "jane.doe@example.com", "+14155550100"):
            assert shown in text
        assert "<li>beta</li>" in page.text
        assert "planStr pro" in text
        assert "session tab-1 · visitor visitor-42" in text
        assert "checkout-started cartTotalNum 42.5" in text
        assert "name replace Jane Doe Jane Roe" in text
        assert "Created" in text
        assert "visitor-42 yes" in text

    def test_times_leave_the_server_as_utc_time_elements(
        self, reader: Console, api: Api
    ) -> None:
        customer_id = make_jane(api)

        page = reader.get(f"/console/customers/{customer_id}")

        moments = re.findall(r'<time datetime="([^"]+)" title="([^"]+)">', page.text)
        assert moments
        for iso, title in moments:
            assert iso.endswith("Z")
            assert title == iso[:19].replace("T", " ") + " UTC"

    def test_a_customer_of_another_org_is_not_found(
        self, reader: Console, api: Api
    ) -> None:
        other = accounts.create_org(api.database, "globex")
        stranger = add_customer(api.database, other, {"name": "Stranger"})

        page = reader.get(f"/console/customers/{stranger.id}")

        assert page.status_code == 404
        assert "Stranger" not in page.text

    @pytest.mark.parametrize("customer_id", ["nope", "F" * 24])
    def test_a_malformed_customer_id_is_not_found(
        self, reader: Console, customer_id: str
    ) -> None:
        assert reader.get(f"/console/customers/{customer_id}").status_code == 404

    def test_the_session_page_lists_the_sessions_events(
        self, reader: Console, api: Api
    ) -> None:
        customer_id = make_jane(api)

        page = reader.get(f"/console/customers/{customer_id}/sessions/tab-1")

        assert page.status_code == 200
        assert "checkout-started" in page.text

    def test_an_unknown_session_is_not_found(self, reader: Console, api: Api) -> None:
        customer_id = make_jane(api)

        page = reader.get(f"/console/customers/{customer_id}/sessions/tab-9")

        assert page.status_code == 404


class TestEverywhere:
    @pytest.mark.parametrize(
        "path", ["/console", "/console/customers", "/console/live"]
    )
    def test_pages_keep_to_themselves_and_out_of_caches(
        self, reader: Console, path: str
    ) -> None:
        headers = reader.get(path).headers

        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"

    def test_an_unknown_console_address_is_a_page_saying_so(
        self, reader: Console
    ) -> None:
        page = reader.get("/console/nowhere")

        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")

    @pytest.mark.parametrize(
        ("name", "kind"), [("console.js", "javascript"), ("console.css", "css")]
    )
    def test_the_script_and_styles_are_served_from_the_package(
        self, console: Console, name: str, kind: str
    ) -> None:
        response = console.get(f"/console/static/{name}")

        assert response.status_code == 200
        assert kind in response.headers["content-type"]

    def test_the_api_is_untouched_by_the_console_cookie(
        self, reader: Console, api: Api
    ) -> None:
        response = api.client.get("/v1/customers/email=jane@example.com")

        assert response.status_code == 401
