"""The ceiling: the fastest any app can answer under the server's setup.

A bare ASGI app that reads the whole request body and answers a fixed 201
JSON about as long as Trackway's identity resource, served by uvicorn with
the flags `trackway serve` passes for one process (src/trackway/cli/
server.py): one process, no log config, no access log, and uvicorn's
default ("auto") loop and HTTP implementation, which pick uvloop and
httptools when they are installed, as they are with Trackway.

Run: python -m bench.ceiling --port PORT
"""

import argparse
from typing import Any

import uvicorn

# Shaped like an identity resource so the bytes on the wire are alike.
ANSWER = (
    b'{"data":{"type":"identity","id":"000000000000000000000001",'
    b'"attributes":{"trackingId":"000000000000000000000002",'
    b'"sessionId":"000000000000000000000003","email":null,'
    b'"status":"anonymous","statusAt":"2026-12-03T10:00:00.000Z",'
    b'"createdAt":"2026-12-03T10:00:00.000Z",'
    b'"updatedAt":"2026-12-03T10:00:00.000Z"},"relationships":{"org":'
    b'{"data":{"type":"org","id":"000000000000000000000004"},'
    b'"links":{"self":"/v1/orgs/000000000000000000000004"}},"customer":'
    b'{"data":null}},"links":{"self":'
    b'"/v1/tracking/identity/000000000000000000000001"}}}'
)
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(ANSWER)).encode()),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 201, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})


async def _lifespan(receive: Any, send: Any) -> None:
    # Nothing to set up or tear down; answer as Starlette would.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args()
    # The same call as `trackway serve` with --workers 1.
    uvicorn.run(
        app, host=options.host, port=options.port, log_config=None, access_log=False
    )


if __name__ == "__main__":
    main()
