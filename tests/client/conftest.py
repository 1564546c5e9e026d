"""A live server for the client's tests, on each backend."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from live import Server, running_server


@pytest.fixture
def server(blank_database_url: str, tmp_path: Path) -> Iterator[Server]:
    """`trackway serve` on a database of this test's own."""
    with running_server(blank_database_url, tmp_path) as running:
        yield running
