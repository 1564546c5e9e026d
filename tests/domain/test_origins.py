"""Origins as an org lists them: exactly as a browser sends `Origin`."""

import pytest

from trackway.domain.errors import Invalid
from trackway.domain.origins import ANY, allowed_as, parse_origin


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://shop.example.com", "https://shop.example.com"),
        ("HTTPS://Shop.Example.COM/", "https://shop.example.com"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        (" * ", ANY),
    ],
)
def test_an_origin_is_kept_as_a_browser_writes_it(given: str, kept: str) -> None:
    assert parse_origin(given) == kept


@pytest.mark.parametrize(
    "given",
    [
        "shop.example.com",
        "ftp://shop.example.com",
        "https://shop.example.com/cart",
        "https://shop.example.com?x=1",
        "https://user@shop.example.com",
        "https://shop.example.com:99999",
        "https://shop_example.com",
        "https://bücher.example",
        "null",
        "",
    ],
)
def test_anything_else_is_invalid(given: str) -> None:
    with pytest.raises(Invalid, match="is not an origin"):
        parse_origin(given)


def test_a_listed_origin_is_echoed_and_the_wildcard_answers_any_other() -> None:
    origins = {"https://shop.example.com", ANY}

    assert allowed_as(origins, "https://shop.example.com") == "https://shop.example.com"
    assert allowed_as(origins, "https://other.example") == ANY
    assert allowed_as({"https://shop.example.com"}, "https://other.example") is None
