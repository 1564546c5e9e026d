"""Signing in to the console with an API key, and out again (SPEC 2)."""

import base64
import json
from collections.abc import Iterator

import itsdangerous
import pytest

from console_client import Console
from harness import Api, make_api
from trackway.domain import roles
from trackway.store import accounts


def cookie_header(console: Console, key: str) -> str:
    response = console.sign_in(key)
    assert response.status_code == 303, response.text
    return response.headers["set-cookie"]


def test_a_page_asked_for_without_sign_in_leads_to_sign_in_and_back(
    console: Console,
) -> None:
    response = console.get("/console/customers")

    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in?next=/console/customers"


def test_a_read_key_signs_in_with_a_signed_httponly_strict_cookie(
    console: Console, api: Api
) -> None:
    header = cookie_header(console, api.read_key).lower()

    assert header.startswith("trackway_console=")
    assert "httponly" in header
    assert "samesite=strict" in header
    assert "path=/console;" in header
    assert "secure" not in header
    assert console.signed_in()


def test_the_cookie_keeps_the_keys_id_and_never_the_key(
    console: Console, api: Api
) -> None:
    header = cookie_header(console, api.read_key)
    value = header.split(";")[0].split("=", 1)[1]
    payload = value.split(".")[0]

    session = json.loads(base64.b64decode(payload))

    assert session["key"] == api.read_key[3:27]
    assert session["org"] == api.org_id
    assert api.read_key not in header


def test_a_tracking_only_key_is_refused_with_the_roles_that_would_do(
    console: Console, api: Api
) -> None:
    response = console.sign_in(api.tracking_key)

    assert response.status_code == 403
    assert "can only send events" in response.text
    assert roles.CUSTOMER_READ in response.text
    assert not console.signed_in()


def test_an_unknown_key_is_refused(console: Console) -> None:
    response = console.sign_in("tw_" + "0" * 24 + "_" + "x" * 43)

    assert response.status_code == 401
    assert "unknown, revoked or expired" in response.text
    assert not console.signed_in()


def test_a_sign_in_form_without_the_sessions_token_signs_nobody_in(
    console: Console, api: Api
) -> None:
    console.token()
    form = {"key": api.read_key, "csrf": "forged"}

    response = console.post("/console/sign-in", form)

    assert response.status_code == 400
    assert "form has expired" in response.text
    assert not console.signed_in()


def test_after_sign_in_the_viewer_returns_to_the_page_asked_for(
    console: Console, api: Api
) -> None:
    response = console.sign_in(api.read_key, "/console/live?name=checkout")

    assert response.headers["location"] == "/console/live?name=checkout"


@pytest.mark.parametrize(
    "next_page",
    ["https://elsewhere.example/", "//elsewhere.example/console", "/v1/customers"],
)
def test_a_return_address_off_the_console_goes_home_instead(
    console: Console, api: Api, next_page: str
) -> None:
    response = console.sign_in(api.read_key, next_page)

    assert response.headers["location"] == "/console"


def test_sign_out_clears_the_cookie_and_the_session(console: Console, api: Api) -> None:
    console.sign_in(api.read_key)

    response = console.sign_out()

    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in?signed-out"
    assert "expires=thu, 01 jan 1970" in response.headers["set-cookie"].lower()
    assert not console.signed_in()
    assert "You are signed out." in console.get(response.headers["location"]).text


def test_sign_out_without_the_token_keeps_the_session(
    console: Console, api: Api
) -> None:
    console.sign_in(api.read_key)

    response = console.post("/console/sign-out", {"csrf": "forged"})

    assert response.status_code == 400
    assert console.signed_in()


def test_revoking_the_key_ends_its_console_sessions(console: Console, api: Api) -> None:
    console.sign_in(api.read_key)

    accounts.revoke_key(api.database, api.read_key[3:27])

    assert not console.signed_in()


def test_a_cookie_signed_with_another_secret_signs_nobody_in(
    console: Console, api: Api
) -> None:
    forged = {"org": api.org_id, "key": api.admin_key[3:27]}
    data = base64.b64encode(json.dumps(forged).encode())
    value = itsdangerous.TimestampSigner("not the secret").sign(data).decode()
    api.client.cookies.set("trackway_console", value, path="/console")

    assert not console.signed_in()


@pytest.fixture
def secure_api(database_url: str) -> Iterator[Api]:
    yield from make_api(database_url, console_cookie_secure=True)


def test_the_cookie_is_secure_when_the_setting_asks(secure_api: Api) -> None:
    page = secure_api.client.get("/console/sign-in")

    assert "; secure" in page.headers["set-cookie"].lower()
