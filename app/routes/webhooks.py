"""Incoming webhooks (../shared/DEVICES.md): POST /webhooks/gateway and POST
/webhooks/payments, and the signature check they share.

A request is refused, in this order: 400 if its body is over the size limit, 401 unless
`X-Anju-Timestamp` is unix seconds within TOLERANCE_S of now and `X-Anju-Signature` is
`sha256=` + HMAC-SHA256(secret, `<timestamp>.<raw body>`) (compared in constant time), then
400 if the body is not a well-formed event. Refusals say little: no detail helps a forger.

The payments webhook answers 200 for an eventId already processed (not processed again), 200
once processed, 404 for a charge or agreement Anju does not know (not recorded, so that the
provider's retry is processed once Anju knows it), 503 while the database is unavailable.
Its events are a charge's outcome (no `type`, or "charge") or, for autopay, an agreement's
(`agreement.active`, `agreement.cancelled`, with an `agreementId` instead).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass

from pymongo.errors import ConnectionFailure
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app import metrics
from app.errors import UnavailableError
from app.services import gateway_events, payment_events
from app.state import AppState

log = logging.getLogger("anju.webhooks")

TOLERANCE_S = 300
MAX_PAYMENT_EVENT_BYTES = 4096
MAX_ID = 128
PAYMENT_STATUSES = frozenset({"succeeded", "failed"})
AGREEMENT_EVENTS = frozenset({"agreement.active", "agreement.cancelled"})


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


async def _applied(what: str, work: Awaitable[str]) -> str | Response:
    """The outcome of applying an event, or the answer that asks the sender to retry."""
    try:
        return await work
    except (ConnectionFailure, UnavailableError):
        log.warning("%s: database unavailable", what)
        return JSONResponse({"error": "unavailable"}, status_code=503, headers={"retry-after": "5"})
    except Exception:
        log.exception("%s failed; the sender's retry will apply it", what)
        return JSONResponse({"error": "internal"}, status_code=500)


async def gateway_webhook(request: Request) -> Response:
    state: AppState = request.app.state.anju
    try:
        raw = await signed_body(
            request, state.settings.gateway_webhook_secret, gateway_events.MAX_EVENT_BYTES
        )
        event = gateway_events.parse_event(raw)
    except WebhookRefused as refused:
        metrics.webhook("gateway", "-", _refusal(refused))
        return JSONResponse({"error": refused.error}, status_code=refused.status)
    except gateway_events.MalformedEvent as exc:
        metrics.webhook("gateway", "-", "malformed")
        return JSONResponse({"error": str(exc)}, status_code=400)
    outcome = await _applied(f"gateway event {event.event_id}", _ingest(state, event))
    if isinstance(outcome, Response):
        metrics.webhook("gateway", event.type, _failure(outcome))
        return outcome
    metrics.webhook("gateway", event.type, outcome)
    return JSONResponse({"status": outcome})


def _refusal(refused: WebhookRefused) -> str:
    return "unsigned" if refused.status == 401 else "too_large"


def _failure(answer: Response) -> str:
    return "unavailable" if answer.status_code == 503 else "failed"


async def _ingest(state: AppState, event: gateway_events.GatewayEvent) -> str:
    return await gateway_events.ingest(state.deps.store, event)


class MalformedPaymentEvent(ValueError):
    pass


@dataclass(frozen=True)
class PaymentEvent:
    event_id: str
    charge_id: str  # the agreement's id for an agreement event
    status: str  # "succeeded"/"failed", or the agreement event's type
    at: str | None
    agreement: bool = False


def _an_id(body: dict[str, object], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID:
        raise MalformedPaymentEvent(f"{name} must be a string of 1 to {MAX_ID} characters")
    return value


def parse_payment_event(raw: bytes) -> PaymentEvent:
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise MalformedPaymentEvent("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise MalformedPaymentEvent("the body must be a JSON object")
    event_id, kind, at = _an_id(body, "eventId"), body.get("type", "charge"), body.get("at")
    if not isinstance(kind, str):
        raise MalformedPaymentEvent("type must be a string")
    if at is not None and (not isinstance(at, str) or len(at) > 64):
        raise MalformedPaymentEvent("at must be an ISO-8601 string")
    if kind in AGREEMENT_EVENTS:
        return PaymentEvent(event_id, _an_id(body, "agreementId"), kind, at, agreement=True)
    if kind != "charge":
        raise MalformedPaymentEvent("type must be charge, agreement.active or agreement.cancelled")
    charge_id, status = _an_id(body, "chargeId"), body.get("status")
    if not isinstance(status, str) or status not in PAYMENT_STATUSES:
        raise MalformedPaymentEvent("status must be succeeded or failed")
    return PaymentEvent(event_id, charge_id, status, at)


async def payments_webhook(request: Request) -> Response:
    state: AppState = request.app.state.anju
    try:
        raw = await signed_body(
            request, state.settings.payments_webhook_secret, MAX_PAYMENT_EVENT_BYTES
        )
        event = parse_payment_event(raw)
    except WebhookRefused as refused:
        metrics.webhook("payments", "-", _refusal(refused))
        return JSONResponse({"error": refused.error}, status_code=refused.status)
    except MalformedPaymentEvent as exc:
        metrics.webhook("payments", "-", "malformed")
        return JSONResponse({"error": str(exc)}, status_code=400)
    outcome = await _applied(f"payment event {event.event_id}", _settle(state, event))
    kind = f"payment.{event.status}"
    if isinstance(outcome, Response):
        metrics.webhook("payments", kind, _failure(outcome))
        return outcome
    metrics.webhook("payments", kind, outcome)
    if outcome == payment_events.UNKNOWN_CHARGE:
        what = "agreement" if event.agreement else "charge"
        return JSONResponse({"error": f"unknown {what}"}, status_code=404)
    return JSONResponse({"status": outcome})


async def _settle(state: AppState, event: PaymentEvent) -> str:
    if event.agreement:
        return await payment_events.handle_agreement_event(
            state.deps.store, event.event_id, event.status, event.charge_id, event.at
        )
    return await payment_events.handle_payment_event(
        state.deps.store, event.event_id, event.charge_id, event.status, event.at
    )
