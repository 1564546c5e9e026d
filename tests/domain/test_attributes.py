"""Suffix typing of `meta` and `custom` values (SPEC 4.1)."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trackway.domain.attributes import typed_attributes
from trackway.domain.errors import Problem


def typed(
    values: dict[str, Any], strict: bool = True
) -> tuple[dict[str, Any], list[Problem]]:
    """The typed values and the problems found, as `meta` of an event."""
    problems: list[Problem] = []
    result = typed_attributes(
        values, field="meta", pointer="/meta", strict=strict, problems=problems
    )
    return result, problems


RIGHT = [
    ("totalNum", 12),
    ("totalNum", 12.5),
    ("paidBool", False),
    ("planStr", "pro"),
    ("planStr", "x" * 1024),
    ("noteTxt", "x" * 5000),
    ("homeUrl", "https://example.com/a?b=c"),
    ("orderId", "o-17"),
    ("plan", "pro"),
]

WRONG = [
    ("totalNum", "12"),
    ("totalNum", True),
    ("renewalAt", 1700000000),
    ("renewalAt", "next tuesday"),
    ("renewalAt", "2023-02-30T10:00:00Z"),
    ("renewalAt", "0001-01-01T00:00:00+01:00"),
    ("paidBool", "true"),
    ("paidBool", 1),
    ("planStr", 7),
    ("planStr", "x" * 1025),
    ("noteTxt", 3),
    ("homeUrl", "example"),
    ("homeUrl", "http://["),
    ("homeUrl", 5),
    ("orderId", 17),
    ("plan", 3),
    ("plan", True),
]

FLAT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
)
ANY_JSON = st.recursive(
    FLAT,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)
KEYS = st.one_of(
    st.text(max_size=12),
    st.builds(
        "".join,
        st.tuples(
            st.text(max_size=6),
            st.sampled_from(["Num", "At", "Bool", "Str", "Txt", "Url", "Id"]),
        ),
    ),
)


class TestSuffixes:
    @pytest.mark.parametrize(("key", "value"), RIGHT)
    def test_value_of_the_right_type_for_its_suffix_is_kept(
        self, key: str, value: Any
    ) -> None:
        result, problems = typed({key: value})

        assert problems == []
        assert result == {key: value}

    @pytest.mark.parametrize(("key", "value"), WRONG)
    def test_value_of_the_wrong_type_for_its_suffix_is_a_problem_naming_it(
        self, key: str, value: Any
    ) -> None:
        result, problems = typed({key: value})

        [problem] = problems
        assert problem.detail.startswith(f"meta.{key} ")
        assert problem.pointer == f"/meta/{key}"
        assert key not in result or result[key] is None

    def test_date_time_is_normalised_to_utc_with_milliseconds(self) -> None:
        result, problems = typed({"renewalAt": "2026-12-03T11:00:00+01:00"})

        assert problems == []
        assert result == {"renewalAt": "2026-12-03T10:00:00.000Z"}

    def test_date_time_without_offset_is_read_as_utc(self) -> None:
        result, _ = typed({"renewalAt": "2026-12-03T10:00:00"})

        assert result == {"renewalAt": "2026-12-03T10:00:00.000Z"}

    def test_suffix_alone_is_not_a_suffix(self) -> None:
        result, problems = typed({"Num": "a string"})

        assert (result, problems) == ({"Num": "a string"}, [])

    def test_key_without_suffix_asks_for_one_when_the_value_is_no_string(
        self,
    ) -> None:
        _, problems = typed({"total": 3})

        assert "type suffix" in problems[0].detail

    @pytest.mark.parametrize("key", ["totalNum", "renewalAt", "plan", "homeUrl"])
    def test_null_passes_under_any_key(self, key: str) -> None:
        result, problems = typed({key: None})

        assert (result, problems) == ({key: None}, [])

    def test_every_wrong_key_is_reported(self) -> None:
        _, problems = typed({"aNum": "x", "bBool": "y", "cStr": "fine"})

        assert [p.pointer for p in problems] == ["/meta/aNum", "/meta/bBool"]

    def test_pointer_escapes_slash_and_tilde(self) -> None:
        _, problems = typed({"a/b~cNum": "x"})

        assert problems[0].pointer == "/meta/a~1b~0cNum"


class TestShape:
    @pytest.mark.parametrize("value", [{"a": 1}, [1, 2], []])
    @pytest.mark.parametrize("strict", [True, False])
    def test_objects_and_arrays_are_refused_in_any_mode(
        self, value: Any, strict: bool
    ) -> None:
        result, problems = typed({"thing": value}, strict)

        assert result == {}
        assert [p.pointer for p in problems] == ["/meta/thing"]
        assert "no objects or arrays" in problems[0].detail

    def test_more_than_100_keys_are_refused(self) -> None:
        values = {f"k{i}": "v" for i in range(101)}

        result, problems = typed(values)

        assert result == {}
        assert problems == [Problem("meta has more than 100 keys", "/meta")]

    def test_100_keys_are_accepted(self) -> None:
        values = {f"k{i}": "v" for i in range(100)}

        result, problems = typed(values)

        assert (result, problems) == (values, [])

    @pytest.mark.parametrize("key", ["", "k" * 129])
    def test_empty_or_overlong_key_is_refused(self, key: str) -> None:
        _, problems = typed({key: "v"})

        assert "key must be 1 to 128 characters" in problems[0].detail


class TestLenient:
    @pytest.mark.parametrize(("key", "value"), WRONG)
    def test_lenient_mode_accepts_any_flat_value_under_any_key(
        self, key: str, value: Any
    ) -> None:
        result, problems = typed({key: value}, strict=False)

        assert (result, problems) == ({key: value}, [])


@given(st.dictionaries(KEYS, ANY_JSON, max_size=8), st.booleans())
def test_typing_never_raises_and_keeps_only_clean_keys(
    values: dict[str, Any], strict: bool
) -> None:
    """Every bad key is a recorded problem; none is ever an exception."""
    result, problems = typed(values, strict)

    assert set(result) <= set(values)
    flagged = {p.pointer for p in problems}
    for key in values:
        assert key in result or pointer_to(key) in flagged


def pointer_to(key: str) -> str:
    return "/meta/" + key.replace("~", "~0").replace("/", "~1")
