"""What every simulator route shares: the simulator object, refusals as exceptions, bearer
checks and JSON bodies. Raising `Refusal` keeps each handler a straight line."""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.settings import Settings
from sim.settings import DEV_SMS_TOKEN
from sim.state import SimState, kind_of
from sim.webhooks import Delivery, Webhooks, gateway_event


@dataclass
class Sim:
    """The simulator's state, webhook sender and settings, kept on `app.state.sim`."""

    settings: Settings
    webhooks: Webhooks
    sms_token: str = DEV_SMS_TOKEN
    state: SimState = field(default_factory=SimState)
    charge_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def reset(self) -> None:
        self.state = SimState()
        self.webhooks.reset()


class Refusal(Exception):
    """An answer other than success, raised from anywhere inside a handler."""

    def __init__(
        self,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body if body is not None else {}
        self.headers = headers


async def refusal_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refusal)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


def sim_of(request: Request) -> Sim:
    sim = request.app.state.sim
    assert isinstance(sim, Sim)
    return sim


def require_bearer(request: Request, token: str) -> None:
    """401 unless `Authorization: Bearer <token>`; compared in constant time."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    matches = hmac.compare_digest(given.strip().encode(), token.encode())
    if scheme.lower() != "bearer" or not matches:
        raise Refusal(401, {"error": "unauthorized"})


async def json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; 400 otherwise. `optional` lets an empty body mean {}."""
    raw = await request.body()
    if optional and not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise Refusal(400, {"error": "the body is not JSON"}) from exc
    if not isinstance(body, dict):
        raise Refusal(400, {"error": "the body must be a JSON object"})
    return body


MAINLAND_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def is_mainland_mobile(phone: object) -> TypeGuard[str]:
    """An 11-digit mainland China mobile number (13x to 19x), with no prefix or spaces."""
    return isinstance(phone, str) and MAINLAND_MOBILE.fullmatch(phone) is not None


def bad_request(message: str) -> Refusal:
    return Refusal(400, {"error": message})


def not_found(message: str = "no such device") -> Refusal:
    return Refusal(404, {"error": message})


def known_device(request: Request, kind: str | None = None) -> tuple[Sim, str]:
    """The simulator and the path's `device_id`; 404 for an unknown id or one of another kind."""
    device_id: str = request.path_params["device_id"]
    actual = kind_of(device_id)
    if actual is None or (kind is not None and actual != kind):
        raise not_found()
    return sim_of(request), device_id


def require_online(sim: Sim, device_id: str) -> None:
    """An offline device sends nothing, so it cannot report a swipe, a code or an alarm."""
    if not sim.state.device(device_id).online:
        raise Refusal(409, {"status": "offline"})


def delivered(event_id: str, delivery: Delivery) -> dict[str, Any]:
    """How Anju took an event, for a control's answer."""
    return {"eventId": event_id, "anjuStatus": delivery.status, "error": delivery.error}


async def send_gateway_event(
    sim: Sim, event_type: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Sends one gateway event to Anju before answering (so a test knows Anju has it)."""
    event = gateway_event(event_type, device_id, data)
    return delivered(event["eventId"], await sim.webhooks.emit("gateway", event))
