"""The console in a real browser: Debian's Chromium, driven by Playwright,
against a live `trackway serve` loaded with the ecom data set.

These tests run on SQLite only, deliberately: the console reads through
the same store queries on either backend, and those pages and queries run
on both in tests/console and tests/store. A second browser run on
PostgreSQL would add minutes and no coverage. The data set is imported once
per module (see console_site.py) and each test serves a copy of it.

Without /usr/bin/chromium these tests skip and say why, unless
TRACKWAY_TEST_REQUIRE_BROWSER=1 (set by CI) turns that into a failure.
"""

import csv
import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from console_site import (
    DATA_SET,
    Seed,
    Site,
    copy_of,
    launch,
    require_chromium,
    seed,
    serving,
)

# The first test also waits for the data set's import (module fixture).
pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.timeout(300)]

# A customer of the data set, and how long a live event may take to show.
USER = "user_0123"
LIVE_WAIT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def seeded(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Seed:
    """The imported data set; after `browser`, so a run without Chromium
    skips before spending time on the import."""
    return seed(tmp_path_factory.mktemp("seed"))


@pytest.fixture
def site(seeded: Seed, tmp_path: Path) -> Iterator[Site]:
    with serving(copy_of(seeded, tmp_path), seeded, tmp_path) as running:
        yield running


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """A browser tab in Tokyo's time zone. It closes before the server
    stops (hence `site`), so no live stream holds the server open."""
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="en-US")
    yield context.new_page()
    context.close()


def sign_in(page: Page, site: Site, key: str) -> None:
    """Signs in with the keyboard alone: the key field has the focus."""
    page.goto(site.url + "/console")
    # Typing starts once the field has the focus, or a loaded machine
    # would drop the first characters.
    expect(page.get_by_label("API key")).to_be_focused()
    page.keyboard.type(key)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def latest_session_of(user: str) -> list[str]:
    """The event names of `user`'s latest session, in time order."""
    with gzip.open(DATA_SET, "rt", encoding="utf-8", newline="") as text:
        rows = [r for r in csv.DictReader(text) if r["user_id"] == user]
    latest = max(rows, key=lambda r: r["timestamp"])["session_id"]
    ordered = sorted(
        (r for r in rows if r["session_id"] == latest), key=lambda r: r["timestamp"]
    )
    return [r["event"] for r in ordered]


def test_a_read_key_signs_in_to_the_overview_and_its_charts(
    page: Page, site: Site
) -> None:
    sign_in(page, site, site.seed.read_key)

    expect(page).to_have_url(site.url + "/console")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Events per day"))).to_be_visible()
    expect(page.get_by_text("events from 2024-04-01 to 2024-06-29")).to_be_visible()


def test_a_tracking_only_key_cannot_sign_in(page: Page, site: Site) -> None:
    sign_in(page, site, site.seed.tracking_key)

    expect(page.get_by_role("alert")).to_contain_text("can only send events")
    page.goto(site.url + "/console/customers")
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()


def test_a_searched_customers_session_opens_on_its_events_in_order(
    page: Page, site: Site
) -> None:
    sign_in(page, site, site.seed.read_key)

    page.get_by_label("Find a customer").fill(USER)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=USER).click()
    expect(page.get_by_role("heading", name=USER, level=1)).to_be_visible()
    latest = page.locator(".sessions details").first
    latest.locator("summary").click()

    names = latest.locator(".event-name")
    expect(names).to_have_text(latest_session_of(USER))


def test_a_live_event_appears_after_an_api_call(page: Page, site: Site) -> None:
    sign_in(page, site, site.seed.read_key)
    menu = page.get_by_role("navigation", name="Console")
    menu.get_by_role("link", name="Live events").click()
    expect(page.get_by_role("status")).to_contain_text("Connected")

    sent = site.send(
        "/v1/tracking/event",
        {"name": "checkout-started", "trackingId": "browser-visitor"},
    )

    assert sent.status_code == 204, sent.text
    first = page.locator("#live-events tbody tr").first
    expect(first).to_contain_text("checkout-started", timeout=LIVE_WAIT_MS)
    expect(first).to_contain_text("browser-visitor")
    expect(page.get_by_role("status")).to_contain_text("1 new event since")


def test_the_live_filter_shows_only_events_of_that_name(page: Page, site: Site) -> None:
    sign_in(page, site, site.seed.read_key)
    page.goto(site.url + "/console/live")
    page.get_by_label("Only events named").fill("wanted")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("status")).to_contain_text("Connected")

    site.send("/v1/tracking/event", {"name": "unwanted", "trackingId": "v-1"})
    site.send("/v1/tracking/event", {"name": "wanted", "trackingId": "v-1"})

    rows = page.locator("#live-events tbody tr")
    expect(rows).to_have_count(1, timeout=LIVE_WAIT_MS)
    expect(rows.first).to_contain_text("wanted")


def test_sign_out_leads_back_to_sign_in_and_closes_the_pages(
    page: Page, site: Site
) -> None:
    sign_in(page, site, site.seed.read_key)

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(site.url + "/console/live")
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()


def test_times_show_in_the_viewers_zone_with_utc_on_hover(
    page: Page, site: Site
) -> None:
    sign_in(page, site, site.seed.read_key)
    page.goto(site.url + "/console/customers?q=" + USER)

    moment = page.locator("td time").first
    iso = moment.get_attribute("datetime") or ""

    expect(moment).to_have_attribute("title", iso[:19].replace("T", " ") + " UTC")
    expect(moment).not_to_contain_text("UTC")
    expect(page.locator("footer")).to_contain_text("Asia/Tokyo")


@pytest.mark.parametrize("path", ["/console", "/console/live", "/console/customers"])
def test_pages_fit_a_phone_screen_without_sideways_scrolling(
    browser: Browser, site: Site, path: str
) -> None:
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    sign_in(page, site, site.seed.read_key)

    page.goto(site.url + path)

    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    phone.close()
    assert overflow == 0
