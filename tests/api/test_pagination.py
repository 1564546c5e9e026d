"""Page and cursor parameters, and the links that walk a list."""

import base64

import pytest
from starlette.datastructures import QueryParams

from trackway.api import pagination
from trackway.api.pagination import PageRequest, TimelineRequest
from trackway.domain.errors import Invalid

PATH = "/v1/customers/656c2d1f0a1b2c3d4e5f6a7b/sessions"
EVENT_ID = "656c2d1f0a1b2c3d4e5f6a7b"


class TestPageRequest:
    def test_defaults_are_page_one_of_a_hundred(self) -> None:
        assert pagination.page_request(QueryParams("")) == PageRequest(1, 100)

    def test_page_and_page_size_are_read(self) -> None:
        query = QueryParams("page=3&pageSize=25")

        assert pagination.page_request(query) == PageRequest(3, 25)

    @pytest.mark.parametrize("size", ["1", "100"])
    def test_page_size_limits_are_inclusive(self, size: str) -> None:
        request = pagination.page_request(QueryParams({"pageSize": size}))

        assert request.page_size == int(size)

    @pytest.mark.parametrize(
        ("query", "parameter"),
        [
            ("pageSize=0", "pageSize"),
            ("pageSize=101", "pageSize"),
            ("pageSize=ten", "pageSize"),
            ("pageSize=", "pageSize"),
            ("pageSize=-1", "pageSize"),
            ("pageSize=+5", "pageSize"),
            ("pageSize=1_0", "pageSize"),
            ("page=0", "page"),
            ("page=1.5", "page"),
            ("page=99999999999999999999", "page"),
        ],
    )
    def test_out_of_range_or_non_integer_is_400_naming_the_parameter(
        self, query: str, parameter: str
    ) -> None:
        with pytest.raises(Invalid) as raised:
            pagination.page_request(QueryParams(query))

        (problem,) = raised.value.problems
        assert problem.detail.startswith(f"{parameter} must be an integer from 1")
        assert problem.pointer is None


class TestPageLinks:
    def test_first_page_with_more_has_next_and_no_prev(self) -> None:
        links = pagination.page_links(
            PATH, QueryParams("pageSize=2"), PageRequest(1, 2), has_next=True
        )

        assert links == {
            "self": f"{PATH}?page=1&pageSize=2",
            "first": f"{PATH}?page=1&pageSize=2",
            "prev": None,
            "next": f"{PATH}?page=2&pageSize=2",
        }

    def test_last_page_has_prev_and_no_next(self) -> None:
        links = pagination.page_links(
            PATH, QueryParams("page=3"), PageRequest(3, 100), has_next=False
        )

        assert links["prev"] == f"{PATH}?page=2&pageSize=100"
        assert links["next"] is None

    def test_other_query_parameters_are_kept(self) -> None:
        query = QueryParams("fields=name&page=2&pageSize=5")

        links = pagination.page_links(PATH, query, PageRequest(2, 5), False)

        assert links["self"] == f"{PATH}?fields=name&page=2&pageSize=5"


class TestCursor:
    def test_cursor_survives_the_round_trip(self) -> None:
        cursor = (1_796_292_000_000, EVENT_ID)

        text = pagination.encode_cursor(cursor)

        assert pagination.decode_cursor(text) == cursor
        assert "=" not in text

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "not base64!",
            base64.urlsafe_b64encode(b"[1, 2]").decode(),
            base64.urlsafe_b64encode(b'[1, "short"]').decode(),
            base64.urlsafe_b64encode(f'["1", "{EVENT_ID}"]'.encode()).decode(),
            base64.urlsafe_b64encode(f'[1e400, "{EVENT_ID}"]'.encode()).decode(),
            base64.urlsafe_b64encode(f'[{2**64}, "{EVENT_ID}"]'.encode()).decode(),
            base64.urlsafe_b64encode(b"\xff\xfe").decode(),
            "A",
        ],
    )
    def test_malformed_cursor_is_400(self, text: str) -> None:
        with pytest.raises(Invalid) as raised:
            pagination.decode_cursor(text)

        assert "cursor" in raised.value.problems[0].detail


class TestTimelineRequest:
    def test_defaults_are_fifty_from_the_newest(self) -> None:
        request = pagination.timeline_request(QueryParams(""))

        assert request == TimelineRequest(None, 50)

    def test_cursor_and_limit_are_read(self) -> None:
        text = pagination.encode_cursor((5, EVENT_ID))

        request = pagination.timeline_request(
            QueryParams({"cursor": text, "limit": "7"})
        )

        assert request == TimelineRequest((5, EVENT_ID), 7)

    @pytest.mark.parametrize("limit", ["0", "101", "x"])
    def test_limit_out_of_range_is_400(self, limit: str) -> None:
        with pytest.raises(Invalid, match="limit must be an integer from 1 to 100"):
            pagination.timeline_request(QueryParams({"limit": limit}))


class TestTimelineLinks:
    def test_next_link_carries_the_cursor_and_limit(self) -> None:
        after = (5, EVENT_ID)

        links = pagination.timeline_links(
            PATH, QueryParams(""), TimelineRequest(None, 10), after
        )

        cursor = pagination.encode_cursor(after)
        assert links == {
            "self": f"{PATH}?limit=10",
            "first": f"{PATH}?limit=10",
            "next": f"{PATH}?cursor={cursor}&limit=10",
        }

    def test_last_page_has_no_next_and_first_drops_the_cursor(self) -> None:
        cursor = pagination.encode_cursor((5, EVENT_ID))
        query = QueryParams({"cursor": cursor, "limit": "10"})

        links = pagination.timeline_links(
            PATH, query, TimelineRequest((5, EVENT_ID), 10), None
        )

        assert links == {
            "self": f"{PATH}?cursor={cursor}&limit=10",
            "first": f"{PATH}?limit=10",
            "next": None,
        }
