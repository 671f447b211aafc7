"""Incoming webhooks (../shared/DEVICES.md): the signature check every sender shares, and
POST /webhooks/gateway.

A request is refused, in this order: 400 if its body is over the size limit, 401 unless
`X-Anju-Timestamp` is unix seconds within TOLERANCE_S of now and `X-Anju-Signature` is
`sha256=` + HMAC-SHA256(secret, `<timestamp>.<raw body>`) (compared in constant time), then
400 if the body is not a well-formed event. Refusals say little: no detail helps a forger.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from pymongo.errors import ConnectionFailure
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.services import gateway_events
from app.state import AppState

log = logging.getLogger("anju.webhooks")

TOLERANCE_S = 300


class WebhookRefused(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing (400) as soon as it grows past `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise WebhookRefused(400, "body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebhookRefused(400, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def signed_body(request: Request, secret: str, limit: int) -> bytes:
    """The raw body of a webhook signed under `secret`, or WebhookRefused (400/401)."""
    body = await read_limited(request, limit)
    timestamp = request.headers.get("x-anju-timestamp", "")
    given = request.headers.get("x-anju-signature", "")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise WebhookRefused(401, "unauthorized")
    if abs(time.time() - int(timestamp)) > TOLERANCE_S:
        raise WebhookRefused(401, "unauthorized")
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
        raise WebhookRefused(401, "unauthorized")
    return body


async def gateway_webhook(request: Request) -> Response:
    state: AppState = request.app.state.anju
    try:
        raw = await signed_body(
            request, state.settings.gateway_webhook_secret, gateway_events.MAX_EVENT_BYTES
        )
        event = gateway_events.parse_event(raw)
    except WebhookRefused as refused:
        return JSONResponse({"error": refused.error}, status_code=refused.status)
    except gateway_events.MalformedEvent as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    try:
        outcome = await gateway_events.ingest(state.db, event)
    except ConnectionFailure:
        log.warning("gateway event %s: database unavailable", event.event_id)
        return JSONResponse({"error": "unavailable"}, status_code=503, headers={"retry-after": "5"})
    except Exception:
        log.exception("gateway event %s failed; the gateway's retry will apply it", event.event_id)
        return JSONResponse({"error": "internal"}, status_code=500)
    if outcome == gateway_events.BUSY:
        return JSONResponse(
            {"status": "in progress"}, status_code=503, headers={"retry-after": "5"}
        )
    return JSONResponse({"status": outcome})
