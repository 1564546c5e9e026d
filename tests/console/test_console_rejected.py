"""The live page lists the Segment door's refusals beside the events."""

from harness import Api
from segment_helpers import send_batch
from trackway.console.rejected import rejected_since


def test_a_refused_segment_message_reaches_the_live_page_source(api: Api) -> None:
    good = {"type": "track", "userId": "u-1", "event": "Order Completed"}
    bad = {"type": "track", "userId": "u-1"}
    send_batch(api, [good, bad])

    [refused] = rejected_since(api.database, api.org_id, 0, 10)

    assert refused.summary == "track"
    assert "event" in refused.reason


def test_only_refusals_since_the_moment_asked_are_listed(api: Api) -> None:
    send_batch(api, [{"type": "track", "userId": "u-1"}])

    assert rejected_since(api.database, api.org_id, 2**53, 10) == []


def test_a_source_lists_only_its_own_org(api: Api) -> None:
    send_batch(api, [{"type": "track", "userId": "u-1"}])

    assert rejected_since(api.database, "0" * 24, 0, 10) == []
