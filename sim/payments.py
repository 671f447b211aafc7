"""The payment provider protocol (`POST /v1/charges`): idempotent charges whose outcome
follows the payment mode, confirmed by a signed webhook right after the answer.

Faults: down (503, nothing taken); slow (the charge is taken at once, its answer comes
`payments_latency_s` later, so a client that gives up first does not know what happened);
garbage (the charge is taken, and its answer is garbage of a sim.garbage kind). They are the
whole provider's, so its agreement calls (sim.agreements) meet them too.

Version 2: a charge may name an `agreementId` (autopay, sim.agreements). A new charge needs the
agreement active, else 409 `{"error":"agreement_inactive"}` (an unknown agreement included),
and its method must be the agreement's (400: the agreement lives in that wallet). The key is
looked up first, so a repeated key answers its charge even after the agreement has ended."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim.common import Refusal, Sim, bad_request, json_object, require_bearer, sim_of
from sim.garbage import Garbled
from sim.state import CHARGE_METHODS, Agreement, Charge
from sim.webhooks import payment_event


def notify_url(sim: Sim, record: Charge | Agreement) -> str:
    """Where a charge's or an agreement's events go: its notifyUrl, else Anju's webhook."""
    return record.notify_url or sim.webhooks.url_for("payments")


def reach_provider(request: Request) -> Sim:
    """Refuses as the provider would before taking anything: down (503), then token (401)."""
    sim = sim_of(request)
    if not sim.state.payments_up:
        raise Refusal(503, {"error": "payment provider unavailable"})
    require_bearer(request, sim.settings.payments_token)
    return sim


async def answer(sim: Sim, response: Response) -> Response:
    """The answer to a call already taken: late if the provider is slow, garbage if garbled."""
    if sim.state.payments_latency_s > 0:
        await asyncio.sleep(sim.state.payments_latency_s)
    if sim.state.payments_garbage is not None:
        raise Garbled(sim.state.payments_garbage)
    return response


def optional_notify_url(body: dict[str, Any]) -> str | None:
    notify = body.get("notifyUrl")
    if notify is not None and (
        not isinstance(notify, str) or not notify.startswith(("http://", "https://"))
    ):
        raise bad_request("notifyUrl must be an http(s) URL")
    return notify or None


def charge_agreement(sim: Sim, key: str, agreement_id: str | None, method: str) -> None:
    """A new charge through an agreement needs it active and in the charge's wallet."""
    if agreement_id is None or key in sim.state.charge_by_key:
        return
    agreement = sim.state.agreements.get(agreement_id)
    if agreement is None or agreement.status != "active":
        raise Refusal(409, {"error": "agreement_inactive"})
    if agreement.method != method:
        raise bad_request(f"method must be the agreement's, {agreement.method}")


async def create_charge(request: Request) -> Response:
    sim = reach_provider(request)
    body = await json_object(request)
    key, amount, method = body.get("idempotencyKey"), body.get("amountFen"), body.get("method")
    description, agreement_id = body.get("description", ""), body.get("agreementId")
    if not isinstance(key, str) or not key:
        raise bad_request("idempotencyKey must be a non-empty string")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise bad_request("amountFen must be a positive integer")
    if method not in CHARGE_METHODS:
        raise bad_request("method must be WECHAT_PAY or ALIPAY")
    if not isinstance(description, str):
        raise bad_request("description must be a string")
    notify = optional_notify_url(body)
    if agreement_id is not None and (not isinstance(agreement_id, str) or not agreement_id):
        raise bad_request("agreementId must be a non-empty string")
    async with sim.charge_lock:  # one charge per key, however many calls race for it
        charge_agreement(sim, key, agreement_id, method)
        charge, created = sim.state.new_charge(
            key, amount, method, description, notify, agreement_id
        )
    if created and charge.status != "pending":
        event = payment_event(charge.charge_id, charge.status)
        sim.webhooks.emit_later("payments", event, notify_url(sim, charge))
    reply = {"chargeId": charge.charge_id, "status": charge.status}
    return await answer(sim, JSONResponse(reply, status_code=201))


routes = [Route("/v1/charges", create_charge, methods=["POST"])]
