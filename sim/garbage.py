"""Garbage answers: what a broken gateway or payment provider (or a proxy in front of one)
sends instead of the protocol, for testing that Anju takes none of it for an answer.

Kinds (`POST /sim/gateway/garbage` and `/sim/payments/garbage`, body `{"kind"}`):

- `invalid-json`: `application/json` that does not parse;
- `wrong-shape`: valid JSON of the wrong shape, a list where an object belongs;
- `wrong-types`: a JSON object with the protocol's field names and wrong values and types;
- `html`: a `text/html` error page;
- `empty`: no body at all;
- `truncated`: the start of a plausible answer (a JPEG for a camera), then the connection
  closes before the declared `content-length`.

All are HTTP 200.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sim.media import GARBAGE_HTML, TINY_JPEG

GARBAGE_KINDS = ("invalid-json", "wrong-shape", "wrong-types", "html", "empty", "truncated")

_INVALID_JSON = b'{"status": "opened", "chargeId": "ch_'
_WRONG_SHAPE = json.dumps(["opened", {"status": "succeeded"}]).encode()
_WRONG_TYPES = json.dumps(
    {
        "deviceId": None,
        "kind": 42,
        "online": "perhaps",
        "status": ["opened", "succeeded"],
        "chargeId": 12345,
    }
).encode()


class Garbled(Exception):
    """Raised by a protocol handler to answer garbage of `kind` instead."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class TruncatedResponse(Response):
    """Declares `content-length` for the whole body, sends only `sent`, then ends the
    exchange: the server closes the connection and the client sees a body cut short."""

    def __init__(self, sent: bytes, declared: int, media_type: str) -> None:
        super().__init__(b"", media_type=media_type)
        self.sent = sent
        self.declared = declared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", (self.media_type or "application/octet-stream").encode()),
            (b"content-length", str(self.declared).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.sent, "more_body": True})
        # returning here, the response incomplete, makes the server close the connection


def garbage_response(kind: str, path: str) -> Response:
    if kind == "invalid-json":
        return Response(_INVALID_JSON, media_type="application/json")
    if kind == "wrong-shape":
        return Response(_WRONG_SHAPE, media_type="application/json")
    if kind == "wrong-types":
        return Response(_WRONG_TYPES, media_type="application/json")
    if kind == "html":
        return Response(GARBAGE_HTML, media_type="text/html")
    if kind == "empty":
        return Response(b"", status_code=200)
    if path.startswith("/v1/cameras/"):
        return TruncatedResponse(TINY_JPEG[:20], len(TINY_JPEG) + 4096, "image/jpeg")
    whole = b'{"status": "opened", "chargeId": "ch_truncated", "padding": "' + b"x" * 200 + b'"}'
    return TruncatedResponse(whole[:30], len(whole), "application/json")


async def garbled_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Garbled)
    return garbage_response(exc.kind, request.url.path)
