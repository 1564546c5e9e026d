"""Seeded `identityEvent` bodies for the ingest stages, one JSON per line.

The traffic it models (the same seed always gives the same file):

- `visitors` distinct visitors (trackingIds), each with one session
  (sessionId) of 5 to 10 calls; about 2,000 sessions are open at once, so
  the calls of many visitors interleave as on a busy site, each session's
  own calls staying in order.
- About 38% of visitors identify themselves: half are signed in from
  their first call, half sign in at a random call; from then on every
  call carries the person's email, externalId or both. That puts an
  identifier on about 30% of all calls.
- A quarter of the identified visitors are people already identified by
  an earlier visitor (a returning customer on a new device); the rest are
  new people.
- Events follow a shop's funnel (page views, searches, product views,
  cart and checkout steps); meta has 3 to 8 keys that obey Kustomer's
  suffix rules (`...Num`, `...Str`, `...Bool`, `...At`, `...Url`), and a
  body is 400 to 900 bytes.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from bench.words import (
    CATEGORIES,
    COUPONS,
    DOMAINS,
    FIRST_NAMES,
    FUNNEL,
    LAST_NAMES,
    REFERRERS,
    USER_AGENTS,
)

OPEN_SESSIONS = 2_000
IDENTIFIED_VISITORS = 0.38
RETURNING_PEOPLE = 0.25
MIN_BYTES = 400
MAX_BYTES = 900
_START = datetime(2026, 11, 1, tzinfo=UTC)
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Person:
    number: int
    email: str
    external_id: str
    name: str


@dataclass(slots=True)
class _Session:
    """One visitor's session: the calls left to make and who it is."""

    tracking_id: str
    session_id: str
    length: int
    sign_in_at: int | None
    person: Person | None
    sent: int = 0
    carries: str = "email"


@dataclass(slots=True)
class BodyStats:
    """What a generated file holds, for the report."""

    bodies: int = 0
    visitors: int = 0
    identified_calls: int = 0
    identified_visitors: int = 0
    returning_visitors: int = 0
    smallest: int = MAX_BYTES
    largest: int = 0
    total_bytes: int = 0
    people: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "bodies": self.bodies,
            "visitors": self.visitors,
            "people": len(self.people),
            "identified_call_share": _share(self.identified_calls, self.bodies),
            "returning_visitor_share": _share(
                self.returning_visitors, self.identified_visitors
            ),
            "bytes_min": self.smallest,
            "bytes_max": self.largest,
            "bytes_mean": round(self.total_bytes / max(self.bodies, 1)),
        }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


class BodyMaker:
    """Makes the bodies of `visitors` sessions, interleaved, from `seed`."""

    def __init__(self, visitors: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.visitors = visitors
        self.people: list[Person] = []
        self.stats = BodyStats(visitors=visitors)

    def bodies(self) -> Iterator[bytes]:
        started = 0
        open_sessions: list[_Session] = []
        while open_sessions or started < self.visitors:
            while len(open_sessions) < OPEN_SESSIONS and started < self.visitors:
                open_sessions.append(self._new_session())
                started += 1
            index = self.rng.randrange(len(open_sessions))
            session = open_sessions[index]
            yield self._body(session)
            if session.sent == session.length:
                # Swap-remove: order among open sessions does not matter.
                open_sessions[index] = open_sessions[-1]
                open_sessions.pop()

    def _new_session(self) -> _Session:
        rng = self.rng
        length = rng.randint(5, 10)
        session = _Session(_hex(rng), _hex(rng), length, None, None)
        if rng.random() < IDENTIFIED_VISITORS:
            signed_in = rng.random() < 0.5
            session.sign_in_at = 0 if signed_in else rng.randrange(length)
            session.person = self._person_for_visitor()
            session.carries = rng.choice(("email", "email", "externalId", "both"))
            self.stats.identified_visitors += 1
        return session

    def _person_for_visitor(self) -> Person:
        if self.people and self.rng.random() < RETURNING_PEOPLE:
            self.stats.returning_visitors += 1
            return self.rng.choice(self.people)
        person = _new_person(self.rng, len(self.people))
        self.people.append(person)
        return person

    def _body(self, session: _Session) -> bytes:
        step = session.sent
        session.sent += 1
        identity: dict[str, Any] = {
            "trackingId": session.tracking_id,
            "sessionId": session.session_id,
        }
        signed_in = session.sign_in_at is not None and step >= session.sign_in_at
        if signed_in and session.person is not None:
            identity.update(_identifiers(session.person, session.carries))
            if step == session.sign_in_at:
                identity["name"] = session.person.name
            self.stats.identified_calls += 1
            self.stats.people.add(session.person.number)
        event = {"name": _event_name(self.rng, step), "meta": {}}
        body = {"identity": identity, "event": event}
        encoded = _fit(self.rng, body, _meta(self.rng, step))
        self._count(encoded)
        return encoded

    def _count(self, encoded: bytes) -> None:
        stats = self.stats
        stats.bodies += 1
        stats.total_bytes += len(encoded)
        stats.smallest = min(stats.smallest, len(encoded))
        stats.largest = max(stats.largest, len(encoded))


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def _new_person(rng: random.Random, number: int) -> Person:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    email = f"{first}.{last}.{number}@{rng.choice(DOMAINS)}".lower()
    return Person(number, email, f"user-{number:07d}", f"{first} {last}")


def _identifiers(person: Person, carries: str) -> dict[str, str]:
    given = {}
    if carries in ("email", "both"):
        given["email"] = person.email
    if carries in ("externalId", "both"):
        given["externalId"] = person.external_id
    return given


def _event_name(rng: random.Random, step: int) -> str:
    if step == 0:
        return "page-viewed"
    # Later steps lean further down the funnel.
    depth = min(len(FUNNEL) - 1, int(rng.triangular(0, len(FUNNEL), step)))
    return FUNNEL[depth]


def _meta(rng: random.Random, step: int) -> dict[str, Any]:
    category = rng.choice(CATEGORIES)
    product = rng.randrange(1, 5_000)
    viewed = _START + timedelta(seconds=rng.randrange(30 * 86_400))
    meta: dict[str, Any] = {
        "pageUrl": f"https://shop.example.com/{category}/item-{product}",
        "pageTitleStr": f"{category.title()} item {product} | Example Shop",
        "viewedAt": viewed.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    extras: dict[str, Any] = {
        "referrerUrl": rng.choice(REFERRERS),
        "priceNum": round(rng.uniform(3, 400), 2),
        "quantityNum": rng.randint(1, 4),
        "currencyStr": "EUR",
        "couponStr": rng.choice(COUPONS),
        "firstVisitBool": step == 0,
        "loggedInBool": rng.random() < 0.4,
        "screenWidthNum": rng.choice((375, 414, 768, 1280, 1440, 1920)),
        "stepNum": step + 1,
    }
    wanted = rng.randint(0, 5)
    for key in rng.sample(sorted(extras), wanted):
        meta[key] = extras[key]
    return meta


def _fit(rng: random.Random, body: dict[str, Any], meta: dict[str, Any]) -> bytes:
    """Encode with `meta`, padded by a user agent (or trimmed of optional
    keys) until the body is MIN_BYTES to MAX_BYTES long."""
    body["event"]["meta"] = meta
    encoded = _encode(body)
    if len(encoded) < MIN_BYTES:
        target = rng.randint(MIN_BYTES, MAX_BYTES - 100)
        agent = rng.choice(USER_AGENTS)
        room = max(target - len(encoded) - len('"userAgentStr":"",'), 16)
        meta["userAgentStr"] = (agent * (room // len(agent) + 1))[:room]
        encoded = _encode(body)
    optional = [key for key in meta if key not in ("pageUrl", "pageTitleStr")]
    while len(encoded) > MAX_BYTES and len(meta) > 3 and optional:
        del meta[optional.pop()]
        encoded = _encode(body)
    return encoded


def write_bodies(path: Path, visitors: int, seed: int) -> BodyStats:
    """Write the bodies to `path`, one per line; return what it holds."""
    maker = BodyMaker(visitors, seed)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        for body in maker.bodies():
            out.write(body + b"\n")
    partial.replace(path)
    return maker.stats
