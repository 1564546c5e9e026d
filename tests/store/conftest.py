"""Fixtures for storage tests, on the `database` of the shared conftest."""

import pytest

from trackway.domain.policy import Policy
from trackway.store import writer as writer_module
from trackway.store.accounts import create_org
from trackway.store.database import Database
from trackway.store.writer import Writer

# 2026-12-03T10:00:00.000Z: the moment every write-path test happens.
FROZEN_NOW = 1_796_292_000_000


@pytest.fixture
def org_id(database: Database) -> str:
    """The id of a new org in `database`."""
    return create_org(database, "acme")


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> int:
    """Freeze the write path's clock; the value is the frozen time in ms."""
    monkeypatch.setattr(writer_module, "now_ms", lambda: FROZEN_NOW)
    return FROZEN_NOW


@pytest.fixture
def writer(database: Database, now: int) -> Writer:
    """A Writer with the default policy, on the frozen clock."""
    return Writer(database, Policy())
