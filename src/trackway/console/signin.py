"""Signing in with an API key, and signing out.

The key is checked like a `Bearer` key of the API; only its ids are kept
in the session. A key that only writes (`org.tracking`) is refused with a
message saying which roles would do.
"""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from trackway.console.guard import html_page
from trackway.console.viewer import SIGN_IN_ROLES, check_form, sign_in, sign_out
from trackway.console.views import render
from trackway.store import accounts

HOME = "/console"
# A form with one key and a token needs little room.
_FORM_LIMITS = {"max_files": 0, "max_fields": 8, "max_part_size": 4096}

UNKNOWN_KEY = "That key is unknown, revoked or expired."
TRACKING_ONLY = (
    "This key can only send events (role org.tracking), so it cannot read "
    "the console. Sign in with a key that has a read role: "
    + ", ".join(sorted(SIGN_IN_ROLES))
    + "."
)
SIGNED_OUT = "You are signed out."


@html_page
async def sign_in_form(request: Request) -> Response:
    notice = SIGNED_OUT if "signed-out" in request.query_params else None
    return _form(request, None, notice, _next_page(request.query_params.get("next")))


@html_page
async def sign_in_submit(request: Request) -> Response:
    form = await request.form(**_FORM_LIMITS)
    check_form(request, form)
    back_to = _next_page(form.get("next"))
    key = form.get("key")
    key = key.strip() if isinstance(key, str) else ""
    database = request.app.state.database
    principal = await run_in_threadpool(accounts.authenticate, database, key)
    if principal is None:
        return _form(request, UNKNOWN_KEY, None, back_to, 401)
    if not principal.holds_any(SIGN_IN_ROLES):
        return _form(request, TRACKING_ONLY, None, back_to, 403)
    org = await run_in_threadpool(accounts.org_by_id, database, principal.org_id)
    sign_in(request, principal, "" if org is None else org.name)
    return RedirectResponse(back_to, status_code=303)


@html_page
async def sign_out_submit(request: Request) -> Response:
    form = await request.form(**_FORM_LIMITS)
    check_form(request, form)
    sign_out(request)
    return RedirectResponse("/console/sign-in?signed-out", status_code=303)


def _form(
    request: Request,
    error: str | None,
    notice: str | None,
    back_to: str,
    status: int = 200,
) -> Response:
    context = {"error": error, "notice": notice, "next": back_to}
    return render(request, "sign_in.html", context, status)


def _next_page(given: object) -> str:
    """Where to go after signing in: a console page, never another site."""
    if not isinstance(given, str):
        return HOME
    inside = given == HOME or given.startswith(HOME + "/")
    if not inside or "//" in given or "\\" in given:
        return HOME
    return given
