"""Fixtures shared by every test folder."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Api, make_api


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """A server on its own database, with org `acme` and three keys."""
    yield from make_api(tmp_path)
