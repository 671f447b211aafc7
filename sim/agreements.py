"""Payment agreements (DEVICES.md, version 2): autopay. The payer signs an agreement once in
their wallet app; charges naming it (sim.payments) then need no interaction from them.

The calls are the payment provider's, with its token and faults (down 503 before anything is
taken; slow and garbage answers after it is taken, as for charges). Where DEVICES.md is
silent, the simulator does what a wallet provider would:

- `payerPhone` must be a mainland mobile number and `method` one of the charge methods (400).
  A repeated `idempotencyKey` answers its agreement as it stands now (201, its current status),
  whatever else the body says, as a repeated charge key does.
- `signUrl` is where the payer would sign: the agreement's page on the simulator,
  `GET /sim/agreements/{agreementId}`; `POST` to it with `/sign` appended signs it.
- `DELETE /v1/agreements/{id}` is 204 and ends the agreement (again: still 204), 404 for an
  unknown one. As wallets do for a merchant-side termination, Anju is then sent
  `agreement.cancelled` (once, when the agreement ends; not for a repeated DELETE). Charges
  already taken, held ones included, still settle.
- A cancelled agreement cannot be signed again (409 `{"error":"agreement_cancelled"}`): the
  payer signs a new one. Signing an active agreement, or cancelling a cancelled one, sends the
  event again with a new eventId, so that duplicates can be tested (as settling twice can).

Agreement events go to the agreement's notifyUrl, else to Anju's /webhooks/payments, signed
with the payments secret: `{"eventId","type","agreementId","at"}`. Protocol-side events follow
the answer, as charge confirmations do; the controls deliver theirs before answering."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim.common import (
    Refusal,
    Sim,
    bad_request,
    delivered,
    is_mainland_mobile,
    json_object,
    not_found,
    sim_of,
)
from sim.payments import answer, notify_url, optional_notify_url, reach_provider
from sim.state import CHARGE_METHODS, Agreement
from sim.webhooks import agreement_event


def sign_url(request: Request, agreement: Agreement) -> str:
    return f"{str(request.base_url).rstrip('/')}/sim/agreements/{agreement.agreement_id}"


def _agreement(sim: Sim, request: Request) -> Agreement:
    agreement = sim.state.agreements.get(request.path_params["agreement_id"])
    if agreement is None:
        raise not_found("no such agreement")
    return agreement


async def create_agreement(request: Request) -> Response:
    sim = reach_provider(request)
    body = await json_object(request)
    key, method, phone = body.get("idempotencyKey"), body.get("method"), body.get("payerPhone")
    description = body.get("description", "")
    if not isinstance(key, str) or not key:
        raise bad_request("idempotencyKey must be a non-empty string")
    if method not in CHARGE_METHODS:
        raise bad_request("method must be WECHAT_PAY or ALIPAY")
    if not is_mainland_mobile(phone):
        raise bad_request("payerPhone must be an 11-digit mainland mobile number")
    if not isinstance(description, str):
        raise bad_request("description must be a string")
    notify = optional_notify_url(body)
    agreement, _ = sim.state.new_agreement(key, method, phone, description, notify)
    reply = {
        "agreementId": agreement.agreement_id,
        "status": agreement.status,
        "signUrl": sign_url(request, agreement),
    }
    return await answer(sim, JSONResponse(reply, status_code=201))


async def delete_agreement(request: Request) -> Response:
    sim = reach_provider(request)
    agreement = _agreement(sim, request)
    if agreement.status != "cancelled":
        agreement.status = "cancelled"
        event = agreement_event("agreement.cancelled", agreement.agreement_id)
        sim.webhooks.emit_later("payments", event, notify_url(sim, agreement))
    return await answer(sim, Response(status_code=204))


# --- controls: the payer in their wallet app --------------------------------------------------


def _payer(status: str) -> Any:
    async def handler(request: Request) -> Response:
        """The payer signs (`active`) or cancels (`cancelled`); Anju hears of it at once."""
        sim = sim_of(request)
        agreement = _agreement(sim, request)
        if status == "active" and agreement.status == "cancelled":
            raise Refusal(409, {"error": "agreement_cancelled"})
        agreement.status = status
        event = agreement_event(f"agreement.{status}", agreement.agreement_id)
        delivery = await sim.webhooks.emit("payments", event, notify_url(sim, agreement))
        reply = {"agreementId": agreement.agreement_id, "status": status}
        return JSONResponse(reply | delivered(event["eventId"], delivery))

    return handler


async def view_agreement(request: Request) -> Response:
    """The agreement's page (its `signUrl`)."""
    return JSONResponse(_agreement(sim_of(request), request).public())


async def list_agreements(request: Request) -> Response:
    return JSONResponse([a.public() for a in sim_of(request).state.agreements.values()])


routes = [
    Route("/v1/agreements", create_agreement, methods=["POST"]),
    Route("/v1/agreements/{agreement_id}", delete_agreement, methods=["DELETE"]),
    Route("/sim/agreements", list_agreements, methods=["GET"]),
    Route("/sim/agreements/{agreement_id}", view_agreement, methods=["GET"]),
    Route("/sim/agreements/{agreement_id}/sign", _payer("active"), methods=["POST"]),
    Route("/sim/agreements/{agreement_id}/cancel", _payer("cancelled"), methods=["POST"]),
]
