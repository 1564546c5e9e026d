"""Who is calling: the API key in `Authorization: Bearer <key>`.

Endpoints call `require` first, before reading the body, so a request with
a bad key costs one indexed lookup and stores nothing.
"""

from collections.abc import Iterable

from starlette.requests import Request

from trackway.domain.errors import Forbidden, Problem, Unauthorized
from trackway.domain.roles import Principal
from trackway.store.accounts import authenticate
from trackway.store.database import Database

MISSING = "send the API key as 'Authorization: Bearer <key>'"
MALFORMED = "the Authorization header must read 'Bearer <key>'"
# One text for unknown, revoked and expired keys: the caller learns nothing
# about which keys exist.
REFUSED = "the API key is unknown, revoked or expired"


async def require(request: Request, roles: Iterable[str]) -> Principal:
    """The principal of the request's key, when the key holds one of `roles`.

    Raises Unauthorized (401) for a missing, malformed, unknown, revoked or
    expired key, and Forbidden (403) for a valid key without any of `roles`.
    Once the key is known, `request.state.org_id` names its org for the log,
    and the rate limit of the org, or the key's own, counts the request
    (429 past it), whether or not the key holds the role.
    """
    return await authorise(request, bearer_token(request), roles)


async def authorise(request: Request, token: str, roles: Iterable[str]) -> Principal:
    """`require` for a key found elsewhere than a Bearer header."""
    database: Database = request.app.state.database
    principal = await database.lookup(authenticate, database, token)
    if principal is None:
        raise BearerRefused(REFUSED, invalid=True)

    request.scope.setdefault("state", {})["org_id"] = principal.org_id
    await request.app.state.rate_limiter.check(request.scope, principal)

    accepted = frozenset(roles)
    if not principal.holds_any(accepted):
        names = ", ".join(sorted(accepted))
        raise Forbidden(Problem(f"this key needs one of the roles: {names}"))
    return principal


def bearer_token(request: Request) -> str:
    """The key of a `Bearer` Authorization header (scheme in any case)."""
    header = request.headers.get("authorization")
    if header is None:
        raise BearerRefused(MISSING, invalid=False)
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise BearerRefused(MALFORMED, invalid=True)
    return token


class BearerRefused(Unauthorized):
    """A 401 that names the scheme to use, as RFC 6750 asks."""

    def __init__(self, detail: str, *, invalid: bool) -> None:
        super().__init__(Problem(detail))
        challenge = 'Bearer error="invalid_token"' if invalid else "Bearer"
        self.headers = {"WWW-Authenticate": challenge}
