"""The payment provider protocol (`POST /v1/charges`): idempotent charges whose outcome
follows the payment mode, confirmed by a signed webhook right after the answer.

Faults: down (503, nothing taken); slow (the charge is taken at once, its answer comes
`payments_latency_s` later, so a client that gives up first does not know what happened);
garbage (the charge is taken, and its answer is garbage of a sim.garbage kind)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim.common import Refusal, Sim, bad_request, json_object, require_bearer, sim_of
from sim.garbage import Garbled
from sim.state import CHARGE_METHODS, Charge
from sim.webhooks import payment_event


def notify_url(sim: Sim, charge: Charge) -> str:
    return charge.notify_url or sim.webhooks.url_for("payments")


async def create_charge(request: Request) -> Response:
    sim = sim_of(request)
    if not sim.state.payments_up:
        raise Refusal(503, {"error": "payment provider unavailable"})
    require_bearer(request, sim.settings.payments_token)
    body = await json_object(request)
    key, amount, method = body.get("idempotencyKey"), body.get("amountFen"), body.get("method")
    description, notify = body.get("description", ""), body.get("notifyUrl")
    if not isinstance(key, str) or not key:
        raise bad_request("idempotencyKey must be a non-empty string")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise bad_request("amountFen must be a positive integer")
    if method not in CHARGE_METHODS:
        raise bad_request("method must be WECHAT_PAY or ALIPAY")
    if not isinstance(description, str):
        raise bad_request("description must be a string")
    if notify is not None and (
        not isinstance(notify, str) or not notify.startswith(("http://", "https://"))
    ):
        raise bad_request("notifyUrl must be an http(s) URL")
    async with sim.charge_lock:  # one charge per key, however many calls race for it
        charge, created = sim.state.new_charge(key, amount, method, description, notify or None)
    if created and charge.status != "pending":
        event = payment_event(charge.charge_id, charge.status)
        sim.webhooks.emit_later("payments", event, notify_url(sim, charge))
    if sim.state.payments_latency_s > 0:
        await asyncio.sleep(sim.state.payments_latency_s)
    if sim.state.payments_garbage is not None:
        raise Garbled(sim.state.payments_garbage)
    return JSONResponse({"chargeId": charge.charge_id, "status": charge.status}, status_code=201)


routes = [Route("/v1/charges", create_charge, methods=["POST"])]
