"""Which web pages may call the tracking endpoints from a browser (CORS).

An org lists origins as a browser writes them in its `Origin` header:
`scheme://host[:port]`, lower case, without a path and without the
scheme's default port. `*` lets a page of any origin call, and is only
ever there because someone chose it.
"""

import re
from collections.abc import Collection
from urllib.parse import SplitResult, urlsplit

from trackway.domain.errors import Invalid, Problem

ANY = "*"
MAX_ORIGINS = 100
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A DNS name, an IPv4 address, or an IPv6 address (brackets removed).
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|[0-9a-f:.]*:[0-9a-f:.]*")
_SHAPE = "an origin reads https://host or https://host:port, or is *"


def parse_origin(text: str) -> str:
    """`text` as the browser would send it; Invalid when it is no origin.

    `HTTPS://Shop.Example.com:443/` is `https://shop.example.com`.
    """
    text = text.strip()
    if text == ANY:
        return ANY
    if not text.isascii():
        raise _invalid(text, "write the host in its ASCII (punycode) form")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in _DEFAULT_PORTS or not _HOST.fullmatch(host):
        raise _invalid(text, _SHAPE)
    extra = parts.username is not None or parts.path not in ("", "/")
    if extra or parts.query or parts.fragment or text.endswith(("?", "#")):
        raise _invalid(text, "an origin has no user, path, query or fragment")
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"{scheme}://{host}{_port_part(text, parts, scheme)}"


def allowed_as(origins: Collection[str], origin: str) -> str | None:
    """What `Access-Control-Allow-Origin` says to a page at `origin`,
    given the `origins` allowed: the origin itself when it is listed, `*`
    when any origin is, else None (the page may not read the answer)."""
    if origin in origins:
        return origin
    return ANY if ANY in origins else None


def _port_part(text: str, parts: SplitResult, scheme: str) -> str:
    try:
        given = parts.port
    except ValueError:
        raise _invalid(text, "its port is not a number from 0 to 65535") from None
    if given is None or given == _DEFAULT_PORTS[scheme]:
        return ""
    return f":{given}"


def _invalid(text: str, why: str) -> Invalid:
    return Invalid(Problem(f"{text!r} is not an origin: {why}"))
