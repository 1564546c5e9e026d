"""A customer's page: profile, activity, sessions, change history, visitors;
and the page of one session's events."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from trackway.api.render import display_name
from trackway.console import params
from trackway.console.charts import Chart, daily_chart
from trackway.console.guard import html_page
from trackway.console.viewer import require_viewer
from trackway.console.views import location_text, render
from trackway.domain.errors import NotFound, Problem
from trackway.domain.model import (
    SCALAR_FIELDS,
    ChangeRecord,
    Customer,
    Session,
    TrackingEvent,
    Visitor,
)
from trackway.domain.roles import CUSTOMER_READ_ROLES, EVENT_READ_ROLES
from trackway.domain.times import now_ms
from trackway.store import activity, reads
from trackway.store.database import Database

CHART_DAYS = 90
SESSIONS_PER_PAGE = 20
EVENTS_PER_SESSION = 50
CHANGES_PER_PAGE = 20
VISITORS_SHOWN = 50
SESSION_PAGE_SIZE = 100

NO_CUSTOMER = "No customer with that id in this org."
# Profile fields whose value is a date-time, shown as a <time>.
_MOMENTS = frozenset({"signedUpAt"})
_LABELS = {
    "name": "Name",
    "company": "Company",
    "username": "Username",
    "signedUpAt": "Signed up",
    "birthdayAt": "Birthday",
    "gender": "Gender",
    "locale": "Locale",
    "timeZone": "Time zone",
}


@dataclass(frozen=True, slots=True)
class Field:
    label: str
    value: str
    moment: bool = False


@dataclass(frozen=True, slots=True)
class SessionView:
    session: Session
    events: list[TrackingEvent]
    link: str

    @property
    def duration_ms(self) -> int:
        return self.session.last_event_at - self.session.first_event_at

    @property
    def complete(self) -> bool:
        return len(self.events) >= self.session.count


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    op: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class ChangeView:
    record: ChangeRecord
    changes: list[Change]


@dataclass(frozen=True, slots=True)
class CustomerPage:
    customer: Customer
    chart: Chart
    sessions: list[SessionView]
    more_sessions: bool
    changes: list[ChangeView]
    more_changes: bool
    visitors: list[Visitor]


@html_page
async def customer_page(request: Request) -> Response:
    viewer = await require_viewer(request, CUSTOMER_READ_ROLES)
    customer_id = params.customer_id(request)
    sessions_page = params.page_number(request, "sessions")
    changes_page = params.page_number(request, "changes")
    found = await run_in_threadpool(
        gather,
        request.app.state.database,
        viewer.principal.org_id,
        customer_id,
        sessions_page,
        changes_page,
    )
    if found is None:
        raise NotFound(Problem(NO_CUSTOMER))
    context = {
        "section": "customers",
        "page": found,
        "name": display_name(found.customer) or found.customer.id,
        "fields": profile_fields(found.customer.profile),
        "custom": sorted((found.customer.profile.get("custom") or {}).items()),
        "locations": [
            location_text(place)
            for place in found.customer.profile.get("locations") or []
        ],
        "sessions_page": sessions_page,
        "changes_page": changes_page,
        "links": _paging_links(request, found, sessions_page, changes_page),
    }
    return render(request, "customer.html", context)


@html_page
async def session_page(request: Request) -> Response:
    """Every event of one session, newest first, 100 to a page."""
    viewer = await require_viewer(request, EVENT_READ_ROLES)
    customer_id = params.customer_id(request)
    session_key = request.path_params["session"]
    page = params.page_number(request)
    found = await run_in_threadpool(
        reads.session_events,
        request.app.state.database,
        viewer.principal.org_id,
        customer_id,
        session_key,
        page,
        SESSION_PAGE_SIZE,
    )
    if found is None:
        raise NotFound(Problem("No such session of a customer in this org."))
    events, has_next = found
    context = {
        "section": "customers",
        "customer_id": customer_id,
        "session_key": session_key,
        "events": events,
        "page": page,
        "previous": params.link(request, page=page - 1) if page > 1 else None,
        "next": params.link(request, page=page + 1) if has_next else None,
    }
    return render(request, "session.html", context)


def gather(
    db: Database, org_id: str, customer_id: str, sessions_page: int, changes_page: int
) -> CustomerPage | None:
    """Everything the customer page shows; None when there is no customer."""
    customer = reads.customer(db, org_id, customer_id)
    if customer is None:
        return None
    listed = reads.customer_sessions(
        db, org_id, customer_id, sessions_page, SESSIONS_PER_PAGE
    )
    sessions, more_sessions = listed or ([], False)
    opening = reads.opening_events(
        db, org_id, customer_id, sessions, EVENTS_PER_SESSION
    )
    records, more_changes = reads.change_records(
        db, org_id, customer_id, changes_page, CHANGES_PER_PAGE
    )
    return CustomerPage(
        customer=customer,
        chart=_activity_chart(db, customer),
        sessions=[_session_view(s, opening.get(s.id, [])) for s in sessions],
        more_sessions=more_sessions,
        changes=[_change_view(record) for record in records],
        more_changes=more_changes,
        visitors=reads.customer_visitors(db, org_id, customer_id, VISITORS_SHOWN),
    )


def profile_fields(profile: dict[str, Any]) -> list[Field]:
    """The scalar fields that are set, labelled, in the API's order."""
    return [
        Field(_LABELS.get(name, name), str(profile[name]), name in _MOMENTS)
        for name in SCALAR_FIELDS
        if profile.get(name) not in (None, "")
    ]


def _activity_chart(db: Database, customer: Customer) -> Chart:
    latest = customer.last_seen_at or now_ms()
    days = activity.Days.ending_at(latest, CHART_DAYS)
    counts = activity.events_per_day(db, customer.org_id, days, customer.id)
    return daily_chart("activity", "Events per day", "event", days, counts)


def _session_view(session: Session, events: list[TrackingEvent]) -> SessionView:
    key = quote(session.id, safe="")
    link = f"/console/customers/{session.customer_id}/sessions/{key}"
    return SessionView(session, events, link)


def _change_view(record: ChangeRecord) -> ChangeView:
    attributes = (record.changes or {}).get("attributes") or {}
    changes = [
        Change(field, entry.get("op", ""), entry.get("before"), entry.get("after"))
        for field, entry in sorted(attributes.items())
    ]
    return ChangeView(record, changes)


def _paging_links(
    request: Request, page: CustomerPage, sessions_page: int, changes_page: int
) -> dict[str, str | None]:
    def at(name: str, number: int, anchor: str) -> str:
        return params.link(request, **{name: number}) + anchor

    return {
        "sessions_previous": at("sessions", sessions_page - 1, "#sessions")
        if sessions_page > 1
        else None,
        "sessions_next": at("sessions", sessions_page + 1, "#sessions")
        if page.more_sessions
        else None,
        "changes_previous": at("changes", changes_page - 1, "#changes")
        if changes_page > 1
        else None,
        "changes_next": at("changes", changes_page + 1, "#changes")
        if page.more_changes
        else None,
    }
