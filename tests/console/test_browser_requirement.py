"""Browser tests skip without Chromium, unless a run requires a browser."""

from pathlib import Path

import pytest

import console_site
from console_site import REQUIRE_BROWSER, require_chromium


@pytest.fixture
def no_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_site, "CHROMIUM", Path("/nowhere/chromium"))


def test_without_chromium_they_skip_and_say_how_to_install_it(
    no_chromium: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)

    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        require_chromium()


def test_without_chromium_a_run_that_requires_a_browser_fails(
    no_chromium: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REQUIRE_BROWSER, "1")

    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_BROWSER}=1"):
        require_chromium()
