"""Who is looking: the signed-in key, kept in a signed session cookie.

The cookie holds the org and key ids, never the key itself, and every
request checks again that the key is still valid, so revoking a key signs
its console sessions out at once. Forms carry a token kept in the same
session, so another site cannot post them for the viewer.
"""

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request

from trackway.domain import roles
from trackway.domain.roles import Principal
from trackway.store import accounts

# Any role that reads: customers, or only their sessions and events.
SIGN_IN_ROLES = roles.EVENT_READ_ROLES

_ORG, _KEY, _ORG_NAME, _CSRF = "org", "key", "org_name", "csrf"


@dataclass(frozen=True, slots=True)
class Viewer:
    principal: Principal
    org_name: str

    @property
    def reads_customers(self) -> bool:
        return self.principal.holds_any(roles.CUSTOMER_READ_ROLES)


class SignInNeeded(Exception):
    """No valid sign-in: the viewer goes to the sign-in page."""

    def __init__(self, back_to: str) -> None:
        super().__init__("sign in first")
        self.back_to = back_to

    @property
    def location(self) -> str:
        return f"/console/sign-in?next={quote(self.back_to, safe='/')}"


class NotAllowed(Exception):
    """The signed-in key lacks the role a page needs (403)."""


class FormRefused(Exception):
    """A form came without this session's token (400)."""


async def require_viewer(
    request: Request, needed: Iterable[str] = SIGN_IN_ROLES
) -> Viewer:
    """The signed-in viewer, whose key holds one of the `needed` roles.

    Raises SignInNeeded without a sign-in or once the key stopped working,
    and NotAllowed when the key lacks the roles.
    """
    session = request.session
    org_id, key_id = session.get(_ORG), session.get(_KEY)
    if not isinstance(org_id, str) or not isinstance(key_id, str):
        raise SignInNeeded(request.url.path)
    database = request.app.state.database
    principal = await run_in_threadpool(
        accounts.key_principal, database, org_id, key_id
    )
    if principal is None:
        session.clear()
        raise SignInNeeded(request.url.path)
    request.state.org_id = principal.org_id
    viewer = Viewer(principal, str(session.get(_ORG_NAME, "")))
    request.state.viewer = viewer
    if not principal.holds_any(needed):
        raise NotAllowed(_lacking(needed))
    return viewer


def sign_in(request: Request, principal: Principal, org_name: str) -> None:
    """Start a fresh session for `principal`; the old token is dropped."""
    session = request.session
    session.clear()
    session.update(
        {
            _ORG: principal.org_id,
            _KEY: principal.key_id,
            _ORG_NAME: org_name,
            _CSRF: secrets.token_urlsafe(32),
        }
    )


def sign_out(request: Request) -> None:
    request.session.clear()


def csrf_token(request: Request) -> str:
    """This session's form token, made on first use."""
    token = request.session.get(_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[_CSRF] = token
    return token


def check_form(request: Request, form: FormData) -> None:
    """Raise FormRefused unless the form carries this session's token."""
    sent = form.get(_CSRF)
    kept = request.session.get(_CSRF)
    if not isinstance(sent, str) or not isinstance(kept, str):
        raise FormRefused()
    if not hmac.compare_digest(sent.encode(), kept.encode()):
        raise FormRefused()


def _lacking(needed: Iterable[str]) -> str:
    names = ", ".join(sorted(needed))
    return f"This page needs a key with one of the roles {names}."
