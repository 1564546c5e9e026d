"""Templates and the filters they use to show values to a person.

Times leave the server in UTC: a `<time>` element carries the exact moment,
and the script rewrites its text into the viewer's zone.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jinja2
import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from trackway.console.viewer import csrf_token
from trackway.domain.times import format_ms

# Where the console lives; links in templates are built on it.
BASE = "/console"

_encoder = msgspec.json.Encoder(decimal_format="number")


def utc_text(ms: int) -> str:
    """`2024-03-13 10:21:14` for a time in epoch milliseconds."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def duration_text(ms: int) -> str:
    """A span of time as a person reads it: `1 h 5 min`, `4 min 12 s`."""
    seconds = max(ms, 0) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


def value_text(value: Any) -> str:
    """A stored JSON value: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return _encoder.encode(value).decode()


def change_text(value: Any) -> str:
    """A profile value before or after a change: lists of emails, phones,
    places or tags read as the items themselves, one after another."""
    if not isinstance(value, list):
        return value_text(value)
    return ", ".join(_item_text(item) for item in value)


def location_text(location: dict[str, Any]) -> str:
    """A location on one line: name, address lines, city, region, country."""
    keys = (
        "name",
        "address",
        "address2",
        "address3",
        "cityName",
        "zipCode",
        "regionName",
        "countryName",
    )
    parts = [str(location[key]) for key in keys if location.get(key)]
    return ", ".join(parts) or "(no address)"


def _item_text(item: Any) -> str:
    if isinstance(item, dict):
        for key in ("email", "phone"):
            if key in item:
                return str(item[key])
        return location_text(item)
    return value_text(item)


def count_text(count: int) -> str:
    return f"{count:,}"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("trackway.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        iso=format_ms,
        utc=utc_text,
        duration=duration_text,
        value=value_text,
        change=change_text,
        count=count_text,
    )
    environment.globals["base"] = BASE
    return environment


templates = Jinja2Templates(env=_environment())


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The page `template` filled with `context`, plus the values every
    page shows: who is signed in and the form token."""
    full = {
        "viewer": getattr(request.state, "viewer", None),
        "csrf": csrf_token(request),
        "section": "",
        **context,
    }
    return templates.TemplateResponse(
        request, template, full, status_code=status, headers=headers
    )
