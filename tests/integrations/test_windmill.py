"""The Windmill scripts of integrations/windmill, run against a live server.

Each is loaded from its file, as Windmill runs it, and called with a
`kustomer` resource holding the server's key and the server's base URL.
"""

import ast
import inspect
import json
import sys
from pathlib import Path
from runpy import run_path
from typing import Any

import httpx
import pytest

from live import Server

pytestmark = pytest.mark.live

FOLDER = Path(__file__).parents[2] / "integrations" / "windmill"
SCRIPTS = ("kustomer_identity_event", "kustomer_identity", "kustomer_event")
KUSTOMER = "https://api.kustomerapp.com"
LOCATION = {
    "type": "work",
    "name": "Office",
    "address": "1 Main Street",
    "latitude": 38.72,
    "longitude": -9.14,
    "countryCode": "PT",
    "cityName": "Lisbon",
    "zipCode": "1100-148",
}
# Every field of the body the reference script declares.
IDENTITY = {
    "remember": True,
    "trackingId": "visitor-7",
    "sessionId": "tab-7",
    "name": "Ana Lima",
    "company": "Acme",
    "externalId": "user-7",
    "username": "ana",
    "signedUpAt": "2024-01-04T11:45:38Z",
    "birthdayAt": "1990-02-03",
    "gender": "f",
    "locale": "pt_PT",
    "timeZone": "Europe/Lisbon",
    "email": "ana@example.com",
    "phone": "+351912345678",
    "location": LOCATION,
    "tags": ["vip"],
    "custom": {"planStr": "team"},
}
EVENT = {"trackingId": "visitor-7", "sessionId": "tab-7", "name": "order-placed"}


def script(name: str) -> dict[str, Any]:
    return run_path(str(FOLDER / f"{name}.py"))


def run(server: Server, name: str, body: dict[str, Any]) -> Any:
    main = script(name)["main"]
    return main({"apiKey": server.key}, body, base_url=server.url)


def read(server: Server, path: str) -> Any:
    headers = {"Authorization": f"Bearer {server.key}"}
    response = httpx.get(server.url + path, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_identity_event_creates_the_customer_with_every_field(
    server: Server,
) -> None:
    answer = run(
        server, "kustomer_identity_event", {"identity": IDENTITY, "event": EVENT}
    )

    customer_id = answer["data"]["relationships"]["customer"]["data"]["id"]
    customer = read(server, f"/v1/customers/{customer_id}")["attributes"]
    [event] = read(server, f"/v1/customers/{customer_id}/sessions/tab-7/events")
    assert answer["data"]["attributes"]["status"] == "created"
    assert (
        customer["name"],
        customer["externalId"],
        customer["birthdayAt"],
    ) == ("Ana Lima", "user-7", "1990-02-03")
    assert customer["locations"] == [LOCATION]
    assert event["attributes"]["trackingEvent"] == "tracking.order-placed"


def test_identity_returns_the_identity_record(server: Server) -> None:
    answer = run(server, "kustomer_identity", {"email": "ana@example.com"})

    assert answer["data"]["type"] == "identity"
    assert answer["data"]["attributes"]["status"] == "created"


def test_event_returns_the_ids_it_was_recorded_under(server: Server) -> None:
    answer = run(server, "kustomer_event", {"name": "page-viewed"})

    assert answer["trackingId"]
    assert answer["sessionId"]


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("kustomer_identity_event", {"identity": {}, "event": {"name": "9x"}}),
        ("kustomer_identity", {"gender": "x"}),
        ("kustomer_event", {"name": "9x"}),
    ],
)
def test_a_refused_call_fails_with_status_and_body(
    server: Server, name: str, body: dict[str, Any]
) -> None:
    with pytest.raises(Exception) as raised:
        run(server, name, body)

    status, _, text = str(raised.value).partition(" ")
    assert status == "400"
    assert json.loads(text)["errors"][0]["code"] == "bad_request"


def test_a_wrong_key_fails_with_401(server: Server) -> None:
    main = script("kustomer_event")["main"]

    with pytest.raises(Exception, match=r"^401 "):
        main({"apiKey": "tw_wrong"}, {"name": "page-viewed"}, base_url=server.url)


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_script_follows_windmills_convention(name: str) -> None:
    """`main(auth, body, base_url=Kustomer)`, with the resource type a
    lowercase TypedDict holding the key."""
    loaded = script(name)
    signature = inspect.signature(loaded["main"])

    assert list(signature.parameters) == ["auth", "body", "base_url"]
    assert signature.parameters["base_url"].default == KUSTOMER
    assert loaded["kustomer"] is signature.parameters["auth"].annotation
    assert {"apiKey": str} == loaded["kustomer"].__annotations__


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_script_imports_only_the_standard_library_and_httpx(name: str) -> None:
    """A Windmill script is deployed alone: it cannot import Trackway."""
    tree = ast.parse((FOLDER / f"{name}.py").read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }

    assert imported - sys.stdlib_module_names == {"httpx"}
