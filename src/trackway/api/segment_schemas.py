"""The JSON shapes of the Segment door (SPEC 8) as msgspec Structs.

Segment messages carry many fields Trackway does not use (`integrations`,
`channel`, `version`, ...), so unknown keys are allowed and ignored. A
batch's items are checked one by one (`SegmentMessage`), so one bad
message is refused alone; the batch Struct only checks the envelope.
"""

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from trackway.api.schemas import ServerId, Time

# Messages a batch may hold. Segment's libraries send 100 at most; 500 KB of
# tiny messages would be many thousands, each written or kept as refused
# in the one transaction of the request.
MAX_BATCH_MESSAGES = 1_000
MESSAGE_REF = "#/components/schemas/SegmentMessage"
BATCH_ITEM = {
    "anyOf": [{"$ref": MESSAGE_REF}, {}],
    "description": "A SegmentMessage; any other item is rejected alone",
}

Kind = Literal["identify", "track", "page", "screen", "group", "alias"]
_Id = Annotated[str, Meta(min_length=1, max_length=256)]
_UserId = Annotated[
    _Id | int, Meta(description="A string, or an integer read as its digits")
]
_DateTime = Annotated[
    str, Meta(description="ISO-8601; no offset means UTC; unreadable is refused")
]
_Object = dict[str, Any]
_Key = Annotated[str, Meta(description="A write key: any API key with org.tracking")]


class _Segment(msgspec.Struct, omit_defaults=True, rename="camel"):
    pass


class SegmentMessage(_Segment):
    """One call. `type` names it (in a batch; a single call takes it from
    its path). A message needs `userId` or `anonymousId`; an alias needs
    `previousId` and `userId`; a group `groupId`; a track `event`."""

    type: Kind | None = None
    message_id: _Id | None = None
    anonymous_id: _UserId | None = None
    user_id: _UserId | None = None
    previous_id: _UserId | None = None
    group_id: _UserId | None = None
    event: str | None = None
    name: str | None = None
    category: str | None = None
    traits: _Object | None = None
    properties: _Object | None = None
    context: _Object | None = None
    timestamp: _DateTime | None = None
    sent_at: _DateTime | None = None
    write_key: _Key | None = None


class SegmentBatch(_Segment):
    """Messages, with a `context` and `sentAt` that apply to each of them
    (a message's own win)."""

    batch: Annotated[
        list[Any],
        Meta(
            max_length=MAX_BATCH_MESSAGES,
            description="Messages, each checked and stored on its own",
            # Any item is taken: one that is no SegmentMessage is refused
            # alone and counted in `rejected`, and the batch answers 200.
            extra_json_schema={"items": BATCH_ITEM},
        ),
    ]
    context: _Object | None = None
    sent_at: _DateTime | None = None
    write_key: _Key | None = None


class SegmentAnswer(_Segment):
    """`{"success": true}`; a batch adds how many messages were accepted
    (repeats of stored messages included) and rejected."""

    success: bool
    accepted: int | None = None
    rejected: int | None = None


class RejectedAttributes(_Segment):
    received_at: Time
    index: Annotated[int, Meta(description="Position in its batch, from 0")]
    message_id: str | None
    reason: str
    message: Annotated[Any, Meta(description="The message as it arrived")]


class RejectedMessage(_Segment):
    type: Literal["rejected_message"]
    id: ServerId
    attributes: RejectedAttributes


class RejectedLinks(_Segment):
    self_: str = msgspec.field(name="self")
    first: str
    prev: str | None
    next: str | None


class RejectedList(_Segment):
    data: list[RejectedMessage]
    links: RejectedLinks
    meta: dict[str, Any]
