"""The overview and the customer search."""

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from trackway.api.render import display_name
from trackway.console import params
from trackway.console.charts import Chart, daily_chart
from trackway.console.guard import html_page
from trackway.console.viewer import require_viewer
from trackway.console.views import render
from trackway.domain.errors import NotFound, Problem
from trackway.domain.model import Customer
from trackway.domain.roles import CUSTOMER_READ_ROLES
from trackway.domain.times import now_ms
from trackway.store import activity, reads
from trackway.store.database import Database

CHART_DAYS = 90
PAGE_SIZE = 25


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """One line of the customer list."""

    id: str
    name: str
    email: str | None
    phone: str | None
    external_id: str | None
    last_seen_at: int | None
    created_at: int


@html_page
async def home(request: Request) -> Response:
    viewer = await require_viewer(request)
    charts = await run_in_threadpool(
        overview_charts,
        request.app.state.database,
        viewer.principal.org_id,
        viewer.reads_customers,
    )
    return render(request, "home.html", {"section": "home", "charts": charts})


@html_page
async def customers(request: Request) -> Response:
    viewer = await require_viewer(request, CUSTOMER_READ_ROLES)
    query = params.text(request, "q")
    page = params.page_number(request)
    found, has_next = await run_in_threadpool(
        reads.search_customers,
        request.app.state.database,
        viewer.principal.org_id,
        query,
        page,
        PAGE_SIZE,
    )
    context = {
        "section": "customers",
        "query": query,
        "rows": [customer_row(c) for c in found],
        "page": page,
        "previous": params.link(request, page=page - 1) if page > 1 else None,
        "next": params.link(request, page=page + 1) if has_next else None,
    }
    return render(request, "customers.html", context)


@html_page
async def not_found(_request: Request) -> Response:
    raise NotFound(Problem("The console has no page at this address."))


def overview_charts(db: Database, org_id: str, with_customers: bool) -> list[Chart]:
    """Events per day, and new customers per day for a customer reader,
    each over the 90 days that end on its latest day (today when empty),
    so an org whose data is history still shows its shape."""
    latest = activity.latest_event_at(db, org_id) or now_ms()
    days = activity.Days.ending_at(latest, CHART_DAYS)
    counts = activity.events_per_day(db, org_id, days)
    charts = [daily_chart("events", "Events per day", "event", days, counts)]
    if with_customers:
        latest = activity.latest_customer_at(db, org_id) or now_ms()
        days = activity.Days.ending_at(latest, CHART_DAYS)
        counts = activity.customers_per_day(db, org_id, days)
        title = "New customers per day"
        charts.append(daily_chart("customers", title, "customer", days, counts))
    return charts


def customer_row(customer: Customer) -> CustomerRow:
    profile = customer.profile
    emails = profile.get("emails") or []
    phones = profile.get("phones") or []
    return CustomerRow(
        id=customer.id,
        name=display_name(customer) or customer.id,
        email=emails[0].get("email") if emails else None,
        phone=phones[0].get("phone") if phones else None,
        external_id=profile.get("externalId"),
        last_seen_at=customer.last_seen_at,
        created_at=customer.created_at,
    )
