"""The Python examples of the docs run, as written, against a live server.

Each page's ```python blocks run in order in one namespace, as a reader
would type them into one session, from the repository's root with
TRACKWAY_URL and TRACKWAY_KEY set. An example that stops working fails
here.
"""

import re
from pathlib import Path

import httpx
import pytest

from live import Server

pytestmark = pytest.mark.live

ROOT = Path(__file__).parents[1]
PAGES = ["docs/python-client.md", "docs/workflow-scripts.md", "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def blocks(page: str) -> list[tuple[int, str]]:
    """Each python block of the page, with the line it starts on."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 2, match.group(1))
        for match in BLOCK.finditer(text)
    ]


def test_the_pages_that_promise_examples_have_them() -> None:
    assert len(blocks("docs/python-client.md")) >= 6
    assert len(blocks("docs/workflow-scripts.md")) >= 2


@pytest.mark.parametrize("page", PAGES)
def test_every_python_example_of_the_page_runs(
    page: str,
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TRACKWAY_URL", server.url)
    monkeypatch.setenv("TRACKWAY_KEY", server.key)
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "__docs__"}

    for line, code in blocks(page):
        exec(compile(code, f"{page}:{line}", "exec"), namespace)

    printed = capsys.readouterr().out
    if page == "docs/python-client.md":
        assert "created" in printed
        assert "400 bad_request /name" in printed
    if page == "docs/workflow-scripts.md":
        assert printed.startswith("created\n400 ")
    if page == "README.md":
        # The Segment example's SDK reports no failure; look for its work.
        found = httpx.get(
            f"{server.url}/v1/customers/externalId=user-42",
            headers=server.headers,
        )
        assert found.json()["data"]["attributes"]["name"] == "Jane Doe"
