"""Roles an API key can hold, and the roles each family of endpoints accepts.

Role names are Kustomer's, so a key described for Kustomer reads the same
here. An endpoint accepts a key holding any one of the roles of its group.

`org.admin` grants every endpoint: Kustomer's administrators can do
everything, and a user who made an admin key expects it to work everywhere.
Every group below therefore contains it, so the groups alone say exactly
which roles an endpoint accepts (the API docs list them as they are).

A key with only `org.tracking` can write events and identities and read
nothing, so it is safe to ship inside a browser page.
"""

from collections.abc import Iterable
from dataclasses import dataclass

TRACKING = "org.tracking"
CUSTOMER_READ = "org.permission.customer.read"
EVENT_READ = "org.permission.event.read"
LEGACY_CUSTOMER_READ = "org.user.customer.read"
LEGACY_EVENT_READ = "org.user.event.read"
CUSTOMER_DELETE = "org.permission.customer.delete"
ADMIN = "org.admin"

ALL_ROLES = frozenset(
    {
        TRACKING,
        CUSTOMER_READ,
        EVENT_READ,
        LEGACY_CUSTOMER_READ,
        LEGACY_EVENT_READ,
        CUSTOMER_DELETE,
        ADMIN,
    }
)

# POST /v1/tracking/* and the Segment endpoints (a Segment write key).
TRACKING_ROLES = frozenset({TRACKING, ADMIN})

# A customer and its lookups by email, externalId or phone.
CUSTOMER_READ_ROLES = frozenset({CUSTOMER_READ, LEGACY_CUSTOMER_READ, ADMIN})

# Sessions, events and the timeline of a customer. Whoever may read the
# customer may read what it did; an event reader may read only this part.
EVENT_READ_ROLES = frozenset(
    {
        CUSTOMER_READ,
        EVENT_READ,
        LEGACY_CUSTOMER_READ,
        LEGACY_EVENT_READ,
        ADMIN,
    }
)

# Erasure (DELETE /v1/customers/{id}) and merges.
DELETE_ROLES = frozenset({CUSTOMER_DELETE, ADMIN})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the org and key a valid API key belongs to.

    `rate_limit`: the key's own requests per minute, which replaces the
    org's for its calls; None when the org's limit applies.
    """

    org_id: str
    key_id: str
    roles: frozenset[str]
    rate_limit: int | None = None

    def holds_any(self, roles: Iterable[str]) -> bool:
        """True when the key holds at least one of `roles`."""
        return not self.roles.isdisjoint(roles)


def unknown_roles(names: Iterable[str]) -> list[str]:
    """The names that are not roles, in the order given."""
    return [name for name in names if name not in ALL_ROLES]
