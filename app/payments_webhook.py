"""POST /webhooks/payments: the payment provider's outcome of a charge (../shared/DEVICES.md).

Signed like the gateway's webhook (app/webhooks.py `signed_body`), under
PAYMENTS_WEBHOOK_SECRET: 401 for a bad or missing signature or a timestamp more than 300 s
away, 400 for a malformed body, 200 for an eventId already processed (not processed again),
200 once processed, 404 for a charge Anju does not know (not recorded, so that the provider's
retry is processed once Anju knows it), 503 while the database is unavailable.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from pymongo.errors import ConnectionFailure
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.services import rent_payments
from app.state import AppState
from app.webhooks import WebhookRefused, signed_body

log = logging.getLogger("anju.webhooks.payments")

MAX_EVENT_BYTES = 4096
MAX_ID = 128
STATUSES = frozenset({"succeeded", "failed"})


class MalformedEvent(ValueError):
    pass


@dataclass(frozen=True)
class PaymentEvent:
    event_id: str
    charge_id: str
    status: str
    at: str | None


def parse_event(raw: bytes) -> PaymentEvent:
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise MalformedEvent("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise MalformedEvent("the body must be a JSON object")
    event_id, charge_id = body.get("eventId"), body.get("chargeId")
    status, at = body.get("status"), body.get("at")
    for name, value in (("eventId", event_id), ("chargeId", charge_id)):
        if not isinstance(value, str) or not 0 < len(value) <= MAX_ID:
            raise MalformedEvent(f"{name} must be a string of 1 to {MAX_ID} characters")
    if status not in STATUSES:
        raise MalformedEvent("status must be succeeded or failed")
    if at is not None and (not isinstance(at, str) or len(at) > 64):
        raise MalformedEvent("at must be an ISO-8601 string")
    assert isinstance(event_id, str)
    assert isinstance(charge_id, str)
    assert isinstance(status, str)
    return PaymentEvent(event_id, charge_id, status, at)


async def payments_webhook(request: Request) -> Response:
    state: AppState = request.app.state.anju
    try:
        raw = await signed_body(request, state.settings.payments_webhook_secret, MAX_EVENT_BYTES)
        event = parse_event(raw)
    except WebhookRefused as refused:
        return JSONResponse({"error": refused.error}, status_code=refused.status)
    except MalformedEvent as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    try:
        outcome = await rent_payments.handle_payment_event(
            state.db, event.event_id, event.charge_id, event.status, event.at
        )
    except ConnectionFailure:
        log.warning("payment event %s: database unavailable", event.event_id)
        return JSONResponse({"error": "unavailable"}, status_code=503, headers={"retry-after": "5"})
    except Exception:
        log.exception("payment event %s failed; the provider's retry will apply it", event.event_id)
        return JSONResponse({"error": "internal"}, status_code=500)
    if outcome == "unknown_charge":
        return JSONResponse({"error": "unknown charge"}, status_code=404)
    return JSONResponse({"status": outcome})
