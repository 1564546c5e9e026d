"""Fixtures of the console tests."""

from collections.abc import Iterator

import pytest

from console_client import Console
from harness import Api


@pytest.fixture
def console(api: Api) -> Iterator[Console]:
    yield Console(api)
