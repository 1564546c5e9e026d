"""The Segment door in the OpenAPI document: true to what is served."""

from typing import Any

import msgspec
import pytest
from test_openapi import conforms

from trackway.api import render
from trackway.api.openapi import openapi_document
from trackway.api.rejected import rejected_resource
from trackway.api.segment import KINDS
from trackway.api.segment_schemas import SegmentAnswer
from trackway.store.rejected import RejectedMessage

ORG = "0123456789abcdef01234567"
PATHS = [f"/v1/{kind}" for kind in (*KINDS, "batch")]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


@pytest.mark.parametrize("path", PATHS)
def test_segment_calls_take_basic_bearer_or_a_key_in_the_body(
    document: dict[str, Any], path: str
) -> None:
    operation = document["paths"][path]["post"]

    assert operation["security"] == [{"basic": []}, {"bearer": []}, {}]
    assert "writeKey" in operation["description"]
    assert set(operation["responses"]) >= {"200", "400", "401", "413"}


def test_batch_items_are_segment_messages_but_any_item_is_taken(
    document: dict[str, Any],
) -> None:
    """A bad item is rejected alone with a 200 for the batch, so the
    document must not call such a batch invalid."""
    batch = document["components"]["schemas"]["SegmentBatch"]

    items = batch["properties"]["batch"]["items"]
    assert items["anyOf"] == [{"$ref": "#/components/schemas/SegmentMessage"}, {}]
    assert conforms(document, "SegmentBatch", {"batch": [42, {"type": "x"}]})


def test_answers_fit_the_documented_shape(document: dict[str, Any]) -> None:
    single = msgspec.to_builtins(SegmentAnswer(True))
    batch = msgspec.to_builtins(SegmentAnswer(True, 3, 1))

    assert single == {"success": True}
    assert conforms(document, "SegmentAnswer", single)
    assert conforms(document, "SegmentAnswer", batch)


def test_rendered_rejected_messages_fit_the_documented_list(
    document: dict[str, Any],
) -> None:
    refused = RejectedMessage(
        ORG, "acme", "0123456789abcdef0123ffff", 1_796_292_000_000, 2, None,
        "a message must be a JSON object", 42,
    )  # fmt: skip
    links = {"self": "/v1/rejected", "first": "/v1/rejected", "prev": None,
             "next": None}  # fmt: skip

    listed = render.list_document([rejected_resource(refused)], links)

    assert conforms(document, "RejectedList", listed)
    assert not conforms(document, "RejectedList", {"data": [{"type": "x"}]})
