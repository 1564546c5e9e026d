"""What the client sends and what it gives back, as msgspec Structs.

Requests (`Identity`, `Event`, `Location`) are encoded with the API's
camelCase names, leaving out every field that is None, so a request says
only what the caller said. Results are flat: a resource's id, its
attributes and the ids of its relationships side by side. Results ignore
attributes they do not know, so Kustomer's richer answers decode too.
"""

from datetime import date, datetime
from typing import Any, Literal

import msgspec

JSON = Any


class _Request(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    pass


class _Result(msgspec.Struct, rename="camel", kw_only=True):
    pass


class Location(_Request):
    """A place of the customer's; repeated places are kept once."""

    type: Literal["home", "work", "other"] | None = None
    name: str | None = None
    address: str | None = None
    address2: str | None = None
    address3: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    country_code: str | None = None
    country_name: str | None = None
    region_code: str | None = None
    region_name: str | None = None
    city_name: str | None = None
    zip_code: str | None = None
    area_code: str | None = None


class Identity(_Request):
    """Who a visitor is: the identity object of the tracking API.

    `email`, `phone` and `external_id` identify the customer; the other
    fields are set on it. A datetime without a time zone is read as UTC
    by Trackway; `birthday_at` may be a plain date.
    """

    tracking_id: str | None = None
    session_id: str | None = None
    remember: bool | None = None
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    name: str | None = None
    company: str | None = None
    username: str | None = None
    signed_up_at: datetime | str | None = None
    birthday_at: datetime | date | str | None = None
    gender: Literal["m", "f"] | None = None
    locale: str | None = None
    time_zone: str | None = None
    location: Location | None = None
    tags: list[str] | None = None
    custom: dict[str, JSON] | None = None


class Event(_Request):
    """Something a visitor did: the event object of the tracking API.

    `meta` keys end in a suffix that types their value (`cartTotalNum`,
    `couponStr`, `paidAt`, ...).
    """

    name: str
    tracking_id: str | None = None
    session_id: str | None = None
    meta: dict[str, JSON] | None = None


class IdentityRecord(_Result):
    """The answer to `identity` and `identity_event`.

    `status` is `created` (a new customer), `updated` (a known one) or
    `anonymous` (no identifier; `customer_id` is None). Send `tracking_id`
    and `session_id` back on the visitor's next calls.
    """

    id: str
    tracking_id: str | None = None
    session_id: str | None = None
    email: str | None = None
    status: str | None = None
    status_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    customer_id: str | None = None


class TrackedEvent(_Result):
    """The ids an `event` call was recorded under (made by the server when
    the call named none); None when the server did not say."""

    tracking_id: str | None = None
    session_id: str | None = None


class Email(_Result):
    email: str
    type: str | None = None
    verified: bool | None = None


class Phone(_Result):
    phone: str
    type: str | None = None
    verified: bool | None = None


class Customer(_Result):
    """A customer as the read API shows it."""

    id: str
    name: str | None = None
    display_name: str | None = None
    company: str | None = None
    external_id: str | None = None
    username: str | None = None
    emails: list[Email] = []
    phones: list[Phone] = []
    locations: list[Location] = []
    tags: list[str] = []
    custom: dict[str, JSON] = {}
    signed_up_at: datetime | None = None
    birthday_at: date | None = None
    gender: str | None = None
    locale: str | None = None
    time_zone: str | None = None
    last_seen_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    modified_at: datetime | None = None
    rev: int | None = None


class Session(_Result):
    """One session of a customer: its events in `session_events`."""

    id: str
    session_id: str | None = None
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None
    count: int | None = None
    customer_id: str | None = None


class CustomerEvent(_Result):
    """A tracking event or a change record of a customer.

    A tracking event has `name` `kustomer.tracking.identified.event` and
    its own name in `tracking_event` (`tracking.checkout-started`); a
    change record has `name` `kustomer.customer.create` or `.update` and
    what changed in `changes`.
    """

    id: str
    name: str | None = None
    published_at: datetime | None = None
    created_at: datetime | None = None
    customer_id: str | None = None
    tracking_event: str | None = None
    tracking_id: str | None = None
    session_id: str | None = None
    meta: dict[str, JSON] | None = None
    real_ip: str | None = None
    changes: dict[str, JSON] | None = None
