"""Screenshots of every console page, for the docs: `make screenshots`.

Serves a copy of the ecom data set as the browser tests do, gives one of
its customers a full profile and then a change of plan (so the customer
page has fields, tags and a change history), sends a few live events, and
saves `console-<page>.png` into the folder named on the command line.
"""

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from console_site import CHROMIUM, NO_BROWSER, Site, copy_of, launch, seed, serving

USER = "user_0123"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PROFILE = {
    "externalId": USER,
    "name": "Jane Doe",
    "email": "jane.doe@example.com",
    "phone": "+14155550100",
    "company": "Acme Outdoor",
    "locale": "en_US",
    "timeZone": "America/Los_Angeles",
    "tags": ["beta", "newsletter"],
    "custom": {"planStr": "basic", "seatsNum": 3},
}
UPGRADE = {"externalId": USER, "tags": ["vip"], "custom": {"planStr": "pro"}}
LIVE_EVENTS = [
    {"name": "checkout-started", "meta": {"cartTotalNum": 84.5, "itemsNum": 3}},
    {"name": "coupon-applied", "meta": {"couponStr": "SPRING"}},
    {"name": "order-placed", "meta": {"orderId": "A-1042", "totalNum": 76.05}},
]


def main(folder: Path) -> None:
    if not CHROMIUM.exists():
        sys.exit(NO_BROWSER)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "seed").mkdir()
        seeded = seed(work / "seed")
        with (
            serving(copy_of(seeded, work), seeded, work) as site,
            sync_playwright() as playwright,
        ):
            browser = launch(playwright)
            enrich(site)
            shoot(browser, site, folder)
            browser.close()


def enrich(site: Site) -> None:
    for body in (PROFILE, UPGRADE):
        answer = site.send("/v1/tracking/identity", body)
        answer.raise_for_status()


def shoot(browser: Browser, site: Site, folder: Path) -> None:
    context = browser.new_context(
        viewport=DESKTOP, timezone_id="Europe/Paris", locale="en-US"
    )
    page = context.new_page()

    page.goto(site.url + "/console")
    save(page, folder, "sign-in")
    page.get_by_label("API key").fill(site.seed.read_key)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    save(page, folder, "overview")

    page.goto(site.url + "/console/customers?q=user_012")
    save(page, folder, "customers")

    page.goto(site.url + "/console/customers?q=" + USER)
    page.get_by_role("link", name="Jane Doe").click()
    page.locator(".sessions details").first.locator("summary").click()
    save(page, folder, "customer")

    customer_url = page.url.split("?")[0].split("#")[0]
    session_id = page.locator(".sessions summary code").first.inner_text()
    page.goto(f"{customer_url}/sessions/{session_id}")
    save(page, folder, "session")

    page.goto(site.url + "/console/live")
    page.get_by_role("status").filter(has_text="Connected").wait_for()
    # Jane's visitor from the data set, then an anonymous one.
    for event, visitor in zip(LIVE_EVENTS, (USER, USER, "web-7f3a"), strict=True):
        site.send("/v1/tracking/event", {**event, "trackingId": visitor})
    newest = page.locator("#live-events tbody tr").first
    newest.filter(has_text="order-placed").wait_for()
    save(page, folder, "live", whole=False)
    context.close()

    phone = browser.new_context(
        viewport=PHONE, timezone_id="Europe/Paris", locale="en-US"
    )
    small = phone.new_page()
    small.goto(site.url + "/console")
    small.get_by_label("API key").fill(site.seed.read_key)
    with small.expect_navigation():
        small.get_by_role("button", name="Sign in").click()
    small.goto(site.url + "/console/customers?q=" + USER)
    small.get_by_role("link", name="Jane Doe").click()
    save(small, folder, "phone", whole=False)
    phone.close()


def save(page: Page, folder: Path, name: str, whole: bool = True) -> None:
    path = folder / f"console-{name}.png"
    page.screenshot(path=path, full_page=whole, animations="disabled")
    print(path)  # noqa: T201 - the script reports what it wrote


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
