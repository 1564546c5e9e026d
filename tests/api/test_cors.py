"""Browser pages of other origins may call the tracking endpoints, and only
those, when an org allows their origin (README, "Calls from browsers")."""

import pytest
from httpx2 import Response

from harness import Api
from trackway.api.cors import CACHE_S, OriginBook
from trackway.domain import roles
from trackway.store import accounts
from trackway.store.origins import add_origin

SHOP = "https://shop.example.com"
OTHER = "https://other.example.com"
EVENT = {"name": "page-viewed"}
TRACKING_PATHS = [
    "/v1/tracking/event",
    "/v1/tracking/identity",
    "/v1/tracking/identityEvent",
    "/v1/identify",
    "/v1/track",
    "/v1/page",
    "/v1/screen",
    "/v1/group",
    "/v1/alias",
    "/v1/batch",
]


def preflight(
    api: Api,
    path: str,
    origin: str = SHOP,
    method: str = "POST",
    headers: str = "authorization, content-type",
) -> Response:
    return api.client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def call_from(api: Api, origin: str, body: object = EVENT, key: str = "") -> Response:
    headers = {**api.headers(key or api.tracking_key), "Origin": origin}
    return api.client.post("/v1/tracking/event", json=body, headers=headers)


def second_org(api: Api, origin: str) -> str:
    """A key of another org, `globex`, which allows `origin`."""
    globex = accounts.create_org(api.database, "globex")
    add_origin(api.database, globex, origin)
    return accounts.create_key(api.database, globex, [roles.TRACKING])


def cors_headers(response: Response) -> dict[str, str]:
    return {
        name: value
        for name, value in response.headers.items()
        if name.startswith("access-control-")
    }


class TestPreflight:
    @pytest.mark.parametrize("path", TRACKING_PATHS)
    def test_an_origin_an_org_allows_may_post_json_with_a_key(
        self, api: Api, path: str
    ) -> None:
        add_origin(api.database, api.org_id, SHOP)

        answer = preflight(api, path)

        assert answer.status_code == 204
        assert cors_headers(answer) == {
            "access-control-allow-origin": SHOP,
            "access-control-allow-methods": "POST",
            "access-control-allow-headers": "Authorization, Content-Type, "
            "Content-Encoding, Idempotency-Key, X-Request-Id",
            "access-control-max-age": "600",
        }
        assert "Origin" in answer.headers["vary"]

    def test_an_origin_no_org_allows_is_refused_in_the_error_shape(
        self, api: Api
    ) -> None:
        add_origin(api.database, api.org_id, SHOP)

        answer = preflight(api, "/v1/tracking/event", origin=OTHER)

        assert answer.status_code == 403
        [error] = answer.json()["errors"]
        assert error["code"] == "forbidden"
        assert f"trackway orgs origins add ORG {OTHER}" in error["detail"]
        assert cors_headers(answer) == {}

    def test_a_method_other_than_post_is_refused(self, api: Api) -> None:
        add_origin(api.database, api.org_id, SHOP)

        answer = preflight(api, "/v1/tracking/event", method="DELETE")

        assert answer.status_code == 403
        assert "only POST" in answer.json()["errors"][0]["detail"]

    def test_a_header_the_endpoints_do_not_read_is_refused(self, api: Api) -> None:
        add_origin(api.database, api.org_id, SHOP)

        answer = preflight(api, "/v1/track", headers="content-type, x-debug")

        assert answer.status_code == 403
        assert "x-debug is not accepted" in answer.json()["errors"][0]["detail"]

    def test_an_origin_of_another_org_passes_the_preflight(self, api: Api) -> None:
        """The preflight has no key, so it cannot know which org is called."""
        second_org(api, OTHER)

        answer = preflight(api, "/v1/tracking/event", origin=OTHER)

        assert answer.status_code == 204

    def test_options_without_a_preflight_is_still_not_allowed(self, api: Api) -> None:
        answer = api.client.options("/v1/tracking/event", headers={"Origin": SHOP})

        assert answer.status_code == 405


class TestTheCallItself:
    def test_the_key_s_org_allowing_the_origin_lets_the_page_read_the_answer(
        self, api: Api
    ) -> None:
        add_origin(api.database, api.org_id, SHOP)

        answer = call_from(api, SHOP)

        assert answer.status_code == 204
        assert cors_headers(answer) == {
            "access-control-allow-origin": SHOP,
            "access-control-expose-headers": "X-RateLimit-Limit, "
            "X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, "
            "X-Request-Id, X-Tracking-Id, X-Session-Id",
        }
        assert answer.headers["vary"] == "Origin"

    def test_an_error_after_the_key_is_known_is_readable_too(self, api: Api) -> None:
        add_origin(api.database, api.org_id, SHOP)

        answer = call_from(api, SHOP, body={"name": "1-bad"})

        assert answer.status_code == 400
        assert answer.headers["access-control-allow-origin"] == SHOP

    def test_an_origin_allowed_only_by_another_org_gets_no_allowance(
        self, api: Api
    ) -> None:
        globex_key = second_org(api, OTHER)

        refused = call_from(api, OTHER)
        allowed = call_from(api, OTHER, key=globex_key)

        assert refused.status_code == 204, "the call is served; the page cannot read"
        assert cors_headers(refused) == {}
        assert allowed.headers["access-control-allow-origin"] == OTHER

    def test_a_call_with_an_unknown_key_gets_no_allowance(self, api: Api) -> None:
        add_origin(api.database, api.org_id, SHOP)
        unknown = "tw_0123456789abcdef01234567_" + "x" * 43

        answer = call_from(api, SHOP, key=unknown)

        assert answer.status_code == 401
        assert cors_headers(answer) == {}
        assert answer.headers["vary"] == "Origin"

    def test_a_segment_call_with_its_write_key_is_allowed(self, api: Api) -> None:
        add_origin(api.database, api.org_id, SHOP)
        headers = {**api.headers(api.tracking_key), "Origin": SHOP}
        message = {"anonymousId": "a-1", "event": "Clicked"}

        answer = api.client.post("/v1/track", json=message, headers=headers)

        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == SHOP


class TestTheWildcard:
    def test_a_wildcard_org_allows_any_page_and_never_credentials(
        self, api: Api
    ) -> None:
        add_origin(api.database, api.org_id, "*")

        checked = preflight(api, "/v1/tracking/event", origin=OTHER)
        answer = call_from(api, OTHER)

        assert checked.headers["access-control-allow-origin"] == "*"
        assert answer.headers["access-control-allow-origin"] == "*"
        for response in (checked, answer):
            assert "access-control-allow-credentials" not in response.headers

    def test_an_exact_origin_is_echoed_even_beside_a_wildcard(self, api: Api) -> None:
        add_origin(api.database, api.org_id, "*")
        add_origin(api.database, api.org_id, SHOP)

        answer = call_from(api, SHOP)

        assert answer.headers["access-control-allow-origin"] == SHOP


class TestOtherPaths:
    @pytest.mark.parametrize(
        "path", ["/v1/customers/0123456789abcdef01234567", "/console", "/healthz"]
    )
    def test_the_read_api_and_the_console_never_answer_cors(
        self, api: Api, path: str
    ) -> None:
        add_origin(api.database, api.org_id, "*")
        headers = {**api.headers(), "Origin": SHOP}

        checked = preflight(api, path)
        answer = api.client.get(path, headers=headers, follow_redirects=False)

        assert checked.status_code == 405
        assert cors_headers(checked) == {}
        assert cors_headers(answer) == {}
        assert "Origin" not in answer.headers.get("vary", "")


class TestOriginBook:
    def test_a_new_origin_is_honoured_once_the_book_is_read_again(
        self, api: Api
    ) -> None:
        now = [0.0]
        book = OriginBook(api.database, clock=lambda: now[0])
        api.client.app.state.origin_book = book  # type: ignore[attr-defined]
        assert preflight(api, "/v1/track").status_code == 403

        add_origin(api.database, api.org_id, SHOP)
        still_cached = preflight(api, "/v1/track")
        now[0] = CACHE_S
        read_again = preflight(api, "/v1/track")

        assert (still_cached.status_code, read_again.status_code) == (403, 204)
