"""Seeded CSV files of events for `trackway import`.

The columns are the importer's defaults (`user_id` as the customer's
externalId and visitor, `session_id`, `event`, `timestamp`), an `email`
column (imported with `--email-column email`) and meta columns whose
names carry Kustomer's type suffixes. An empty cell means "not given",
so each row's meta has 3 to 8 keys.

Rows come in time order, as an export would list them, over the 60 days
before the file is made, with about 2,000 customers active at once. Each
customer has `events / customers` events on average (half to one and a
half times that), in sessions of 3 to 8 events; half the customers also
have an email, given on each of their rows.
"""

import csv
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.words import CATEGORIES, COUPONS, DOMAINS, FUNNEL, REFERRERS

COLUMNS = (
    "user_id", "email", "session_id", "event", "timestamp", "pageUrl",
    "pageTitleStr", "referrerUrl", "priceNum", "quantityNum", "couponStr",
    "loggedInBool", "viewedAt",
)  # fmt: skip
_FIXED = 5  # the columns before the meta ones
_META = len(COLUMNS) - _FIXED
OPEN_CUSTOMERS = 2_000
SPAN_MS = 60 * 86_400_000
# Part of cached file names: bump it when the rows made here change.
VERSION = 1


@dataclass(slots=True)
class _Customer:
    user_id: str
    email: str
    left: int
    session: str = ""
    session_left: int = 0
    step: int = 0


@dataclass(frozen=True, slots=True)
class ImportFile:
    path: Path
    rows: int
    customers: int


def write_import_file(path: Path, events: int, customers: int, seed: int) -> ImportFile:
    """Write about `events` rows of `customers` customers to `path`."""
    rng = random.Random(seed)
    end_ms = (int(time.time()) // 3600 - 1) * 3_600_000  # an hour ago
    partial = path.with_suffix(".partial")
    rows = 0
    with partial.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in _rows(rng, events, customers, end_ms):
            writer.writerow(row)
            rows += 1
    partial.replace(path)
    return ImportFile(path, rows, customers)


def _rows(
    rng: random.Random, events: int, customers: int, end_ms: int
) -> Iterator[list[str]]:
    mean = events / customers
    step_ms = SPAN_MS / events
    moment = float(end_ms - SPAN_MS)
    made = 0
    open_customers: list[_Customer] = []
    for _ in range(events):
        while len(open_customers) < OPEN_CUSTOMERS and made < customers:
            open_customers.append(_customer(rng, made, mean))
            made += 1
        if not open_customers:
            return
        index = rng.randrange(len(open_customers))
        customer = open_customers[index]
        moment += step_ms
        yield _row(rng, customer, int(moment))
        if customer.left == 0:
            open_customers[index] = open_customers[-1]
            open_customers.pop()


def _customer(rng: random.Random, number: int, mean: float) -> _Customer:
    events = max(1, round(rng.uniform(mean / 2, mean * 3 / 2)))
    email = ""
    if rng.random() < 0.5:
        email = f"import.{number}@{rng.choice(DOMAINS)}"
    return _Customer(f"cust-{number:08d}", email, events)


def _row(rng: random.Random, customer: _Customer, moment: int) -> list[str]:
    if customer.session_left == 0:
        customer.session = f"{rng.getrandbits(96):024x}"
        customer.session_left = rng.randint(3, 8)
        customer.step = 0
    customer.left -= 1
    customer.session_left -= 1
    step = customer.step
    customer.step += 1
    name = FUNNEL[min(len(FUNNEL) - 1, step + rng.randrange(2))]
    return [
        customer.user_id,
        customer.email,
        customer.session,
        name,
        _iso(moment),
        *_meta(rng, moment),
    ]


def _meta(rng: random.Random, moment: int) -> list[str]:
    category = rng.choice(CATEGORIES)
    product = rng.randrange(1, 5_000)
    values = [
        f"https://shop.example.com/{category}/item-{product}",
        f"{category.title()} item {product}",
        rng.choice(REFERRERS),
        f"{rng.uniform(3, 400):.2f}",
        str(rng.randint(1, 4)),
        rng.choice(COUPONS),
        rng.choice(("true", "false")),
        _iso(moment - rng.randrange(86_400_000)),
    ]
    # Keep 3 to 8 of them; pageUrl always.
    kept = {0, *rng.sample(range(1, _META), rng.randint(2, _META - 1))}
    return [value if i in kept else "" for i, value in enumerate(values)]


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def import_command(path: Path) -> tuple[str, ...]:
    """The arguments of `trackway import` for a file made here."""
    return ("import", str(path), "--email-column", "email")
