"""The simulator's own controls (`/sim/...`), for tests and demos: fault injection, events
sent to Anju on demand, and views of what the simulator holds and has sent.

No authentication: the simulator listens on loopback only and is a test tool. Events sent
from here are delivered before the answer, so a test knows Anju has had them.

Faults of the whole gateway or payment provider (beside the per-device ones):

- `POST /sim/gateway/offline`, `/online`: every /v1 gateway call answers 503, or not.
- `POST /sim/gateway/garbage` `{"kind"}`: every /v1 gateway call does nothing and answers
  garbage of that kind (sim/garbage.py: `invalid-json`, `wrong-shape`, `wrong-types`,
  `html`, `empty`, `truncated`); `POST /sim/gateway/sane` ends it.
- `POST /sim/payments/down`, `/up`: the payment calls (`/v1/charges`, `/v1/agreements`)
  answer 503 (nothing taken), or not.
- `POST /sim/payments/garbage` `{"kind"}`: each payment call is taken (a charge as the mode
  says) and its answer is garbage of that kind; `POST /sim/payments/sane` ends it.
- `POST /sim/payments/latency` `{"seconds"}`: each payment call is taken at once and
  answered that much later.
- `GET /sim/calls` (`?inFlight=1`): the protocol calls received, `{api, method, path,
  receivedAt, status, answeredAt}`, `answeredAt` null while the call is in flight.

The version 2 controls live beside their protocol calls: sim.claims, sim.codes,
sim.agreements and sim.sms. `POST /sim/reset` puts all of them back to normal."""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim.common import (
    Sim,
    bad_request,
    delivered,
    json_object,
    known_device,
    not_found,
    require_online,
    send_gateway_event,
    sim_of,
)
from sim.garbage import GARBAGE_KINDS
from sim.media import CAMERA_MODES
from sim.payments import notify_url
from sim.state import PAYMENT_MODES, iso, kind_of, utcnow
from sim.webhooks import SIGNATURE_MODES, TARGETS, payment_event

MAX_LATENCY_S = 120.0
SMOKE_LEVELS = frozenset({"smoke", "heat", "test"})


def _device_view(sim: Sim, device_id: str) -> dict[str, Any]:
    device = sim.state.device(device_id)
    return {
        "deviceId": device_id,
        "kind": kind_of(device_id),
        "online": device.online,
        "latencySeconds": device.latency_s,
        "failing": device.failing,
    }


# --- devices ---------------------------------------------------------------------------------


def _set_online(online: bool) -> Any:
    async def handler(request: Request) -> Response:
        """Puts a device on- or offline; `{"notify": true}` also tells Anju."""
        sim, device_id = known_device(request)
        body = await json_object(request, optional=True)
        sim.state.device(device_id).online = online
        answer = _device_view(sim, device_id)
        if body.get("notify") is True:
            kind = "device.online" if online else "device.offline"
            answer |= await send_gateway_event(sim, kind, device_id, {})
        return JSONResponse(answer)

    return handler


def _set_failing(failing: bool) -> Any:
    async def handler(request: Request) -> Response:
        """While failing, the device's protocol calls answer 500."""
        sim, device_id = known_device(request)
        sim.state.device(device_id).failing = failing
        return JSONResponse(_device_view(sim, device_id))

    return handler


async def _seconds(request: Request) -> float:
    seconds = (await json_object(request)).get("seconds")
    if (
        not isinstance(seconds, int | float)
        or isinstance(seconds, bool)
        or not math.isfinite(seconds)
        or not 0 <= seconds <= MAX_LATENCY_S
    ):
        raise bad_request(f"seconds must be a number from 0 to {MAX_LATENCY_S:g}")
    return float(seconds)


async def set_latency(request: Request) -> Response:
    sim, device_id = known_device(request)
    sim.state.device(device_id).latency_s = await _seconds(request)
    return JSONResponse(_device_view(sim, device_id))


async def _garbage_kind(request: Request) -> str:
    kind = (await json_object(request)).get("kind")
    if kind not in GARBAGE_KINDS:
        raise bad_request(f"kind must be one of {', '.join(GARBAGE_KINDS)}")
    assert isinstance(kind, str)
    return kind


# --- doors, cameras, smoke detectors ---------------------------------------------------------


async def list_cards(request: Request) -> Response:
    """Cards valid now; `?all=1` lists every card held, future or expired."""
    sim, device_id = known_device(request, "door")
    every = request.query_params.get("all", "") in {"1", "true", "yes"}
    now = utcnow()
    cards = sorted(sim.state.door_cards(device_id).items())
    return JSONResponse(
        [
            {"cardNumber": number, "validFrom": iso(c.valid_from), "validUntil": iso(c.valid_until)}
            for number, c in cards
            if every or c.valid_at(now)
        ]
    )


async def list_opens(request: Request) -> Response:
    sim, device_id = known_device(request, "door")
    return JSONResponse(list(sim.state.opens.get(device_id, [])))


async def swipe(request: Request) -> Response:
    sim, device_id = known_device(request, "door")
    card_number = (await json_object(request)).get("cardNumber")
    if not isinstance(card_number, str) or not card_number:
        raise bad_request("cardNumber must be a non-empty string")
    require_online(sim, device_id)
    card = sim.state.door_cards(device_id).get(card_number)
    granted = card is not None and card.valid_at(utcnow())
    data = {"cardNumber": card_number, "granted": granted}
    answer = await send_gateway_event(sim, "door.card", device_id, data)
    return JSONResponse({"granted": granted, **answer})


async def smoke_alarm(request: Request) -> Response:
    sim, device_id = known_device(request, "smoke_detector")
    level = (await json_object(request, optional=True)).get("level", "smoke")
    if level not in SMOKE_LEVELS:
        raise bad_request("level must be smoke, heat or test")
    require_online(sim, device_id)
    return JSONResponse(await send_gateway_event(sim, "smoke.alarm", device_id, {"level": level}))


async def smoke_clear(request: Request) -> Response:
    sim, device_id = known_device(request, "smoke_detector")
    require_online(sim, device_id)
    return JSONResponse(await send_gateway_event(sim, "smoke.cleared", device_id, {}))


async def camera_mode(request: Request) -> Response:
    sim, device_id = known_device(request, "camera")
    mode = (await json_object(request)).get("mode")
    if mode not in CAMERA_MODES:
        raise bad_request("mode must be ok, garbage, huge or error")
    sim.state.camera_modes[device_id] = mode
    return JSONResponse({"deviceId": device_id, "mode": mode})


def _set_gateway(online: bool) -> Any:
    async def handler(request: Request) -> Response:
        """While offline, every /v1 gateway call answers 503."""
        sim_of(request).state.gateway_online = online
        return JSONResponse({"gatewayOnline": online})

    return handler


async def gateway_garbage(request: Request) -> Response:
    """Every /v1 gateway call answers garbage of this kind (nothing reaches a device)."""
    sim = sim_of(request)
    sim.state.gateway_garbage = await _garbage_kind(request)
    return JSONResponse({"gatewayGarbage": sim.state.gateway_garbage})


async def gateway_sane(request: Request) -> Response:
    sim_of(request).state.gateway_garbage = None
    return JSONResponse({"gatewayGarbage": None})


# --- payments --------------------------------------------------------------------------------


async def payment_mode(request: Request) -> Response:
    mode = (await json_object(request)).get("mode")
    if mode not in PAYMENT_MODES:
        raise bad_request("mode must be succeed, fail or hold")
    sim_of(request).state.payment_mode = mode
    return JSONResponse({"mode": mode})


def _set_payments(up: bool) -> Any:
    async def handler(request: Request) -> Response:
        """While down, the payment calls (charges, agreements) answer 503."""
        sim_of(request).state.payments_up = up
        return JSONResponse({"paymentsUp": up})

    return handler


async def payments_garbage(request: Request) -> Response:
    """Each payment call is taken (a charge as the mode says), and answered with garbage."""
    sim = sim_of(request)
    sim.state.payments_garbage = await _garbage_kind(request)
    return JSONResponse({"paymentsGarbage": sim.state.payments_garbage})


async def payments_sane(request: Request) -> Response:
    sim_of(request).state.payments_garbage = None
    return JSONResponse({"paymentsGarbage": None})


async def payments_latency(request: Request) -> Response:
    """Each payment call is taken at once and answered this many seconds later."""
    sim = sim_of(request)
    sim.state.payments_latency_s = await _seconds(request)
    return JSONResponse({"paymentsLatencySeconds": sim.state.payments_latency_s})


async def settle(request: Request) -> Response:
    """Settles a charge (held or not, so out-of-order outcomes can be tested) and tells Anju."""
    sim = sim_of(request)
    charge = sim.state.charges.get(request.path_params["charge_id"])
    if charge is None:
        raise not_found("no such charge")
    status = (await json_object(request)).get("status")
    if status not in {"succeeded", "failed"}:
        raise bad_request("status must be succeeded or failed")
    charge.status = status
    event = payment_event(charge.charge_id, status)
    delivery = await sim.webhooks.emit("payments", event, notify_url(sim, charge))
    answer = {"chargeId": charge.charge_id, "status": status}
    return JSONResponse(answer | delivered(event["eventId"], delivery))


async def list_charges(request: Request) -> Response:
    return JSONResponse([c.public() for c in sim_of(request).state.charges.values()])


# --- the simulator itself --------------------------------------------------------------------


async def reset(request: Request) -> Response:
    sim_of(request).reset()
    return JSONResponse({"reset": True})


async def list_calls(request: Request) -> Response:
    """The protocol calls received (the latest ones); `?inFlight=1`: those not answered yet."""
    in_flight = request.query_params.get("inFlight", "") in {"1", "true", "yes"}
    calls = list(sim_of(request).state.calls)
    return JSONResponse([c for c in calls if not in_flight or c["answeredAt"] is None])


async def list_events(request: Request) -> Response:
    return JSONResponse(sim_of(request).webhooks.log)


async def replay(request: Request) -> Response:
    """The same body as a past event, freshly signed: Anju must not process it twice."""
    event_id = (await json_object(request)).get("eventId")
    if not isinstance(event_id, str):
        raise bad_request("eventId must be a string")
    delivery = await sim_of(request).webhooks.replay(event_id)
    if delivery is None:
        raise not_found("no such event")
    return JSONResponse(delivered(event_id, delivery))


async def send_webhook(request: Request) -> Response:
    """Any body (a JSON string is sent verbatim), signed validly, badly or not at all, with
    its timestamp shifted by `timestampOffset` seconds: for Anju's refusal paths."""
    body = await json_object(request)
    target, signature = body.get("target"), body.get("signature", "valid")
    offset = body.get("timestampOffset", 0)
    if target not in TARGETS:
        raise bad_request("target must be gateway or payments")
    if signature not in SIGNATURE_MODES:
        raise bad_request("signature must be valid, bad or missing")
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise bad_request("timestampOffset must be an integer")
    if "body" not in body:
        raise bad_request("body is required")
    payload = body["body"]
    raw = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
    delivery = await sim_of(request).webhooks.send_raw(target, raw, signature, offset)
    anju_body: Any = delivery.body
    if delivery.body is not None:
        with contextlib.suppress(ValueError):
            anju_body = json.loads(delivery.body)
    return JSONResponse(
        {"anjuStatus": delivery.status, "anjuBody": anju_body, "error": delivery.error}
    )


routes = [
    Route("/sim/devices/{device_id}/offline", _set_online(False), methods=["POST"]),
    Route("/sim/devices/{device_id}/online", _set_online(True), methods=["POST"]),
    Route("/sim/devices/{device_id}/fail", _set_failing(True), methods=["POST"]),
    Route("/sim/devices/{device_id}/ok", _set_failing(False), methods=["POST"]),
    Route("/sim/devices/{device_id}/latency", set_latency, methods=["POST"]),
    Route("/sim/doors/{device_id}/cards", list_cards, methods=["GET"]),
    Route("/sim/doors/{device_id}/opens", list_opens, methods=["GET"]),
    Route("/sim/doors/{device_id}/swipe", swipe, methods=["POST"]),
    Route("/sim/smoke/{device_id}/alarm", smoke_alarm, methods=["POST"]),
    Route("/sim/smoke/{device_id}/clear", smoke_clear, methods=["POST"]),
    Route("/sim/cameras/{device_id}/mode", camera_mode, methods=["POST"]),
    Route("/sim/gateway/offline", _set_gateway(False), methods=["POST"]),
    Route("/sim/gateway/online", _set_gateway(True), methods=["POST"]),
    Route("/sim/gateway/garbage", gateway_garbage, methods=["POST"]),
    Route("/sim/gateway/sane", gateway_sane, methods=["POST"]),
    Route("/sim/payments/mode", payment_mode, methods=["POST"]),
    Route("/sim/payments/down", _set_payments(False), methods=["POST"]),
    Route("/sim/payments/up", _set_payments(True), methods=["POST"]),
    Route("/sim/payments/garbage", payments_garbage, methods=["POST"]),
    Route("/sim/payments/sane", payments_sane, methods=["POST"]),
    Route("/sim/payments/latency", payments_latency, methods=["POST"]),
    Route("/sim/payments/charges", list_charges, methods=["GET"]),
    Route("/sim/payments/{charge_id}/settle", settle, methods=["POST"]),
    Route("/sim/reset", reset, methods=["POST"]),
    Route("/sim/calls", list_calls, methods=["GET"]),
    Route("/sim/events", list_events, methods=["GET"]),
    Route("/sim/events/replay", replay, methods=["POST"]),
    Route("/sim/webhooks/send", send_webhook, methods=["POST"]),
]
