"""The device gateway protocol (`/v1/devices`, `/v1/doors`, `/v1/cameras`): devices by id
prefix, idempotent door commands, door cards and camera stills, with the faults the controls
inject (gateway down or answering garbage, device failing, offline, slow)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim import media
from sim.common import Refusal, Sim, bad_request, json_object, not_found, require_bearer, sim_of
from sim.garbage import Garbled
from sim.state import Card, Device, kind_of, parse_iso
from sim.webhooks import gateway_event


async def reach(request: Request, kind: str | None, *, online: bool = True) -> tuple[Sim, str]:
    """Refuses as a real gateway would, then waits out the device's latency.

    Order: gateway down (503), garbage (sim.garbage: nothing is done, garbage answered), token
    (401), unknown or wrong kind (404), latency, failing device (500), offline device (409,
    unless `online` is False: a lookup reports it)."""
    sim = sim_of(request)
    if not sim.state.gateway_online:
        raise Refusal(503, {"error": "gateway unavailable"})
    if sim.state.gateway_garbage is not None:
        await request.body()  # read it all, so that only the answer is cut short
        raise Garbled(sim.state.gateway_garbage)
    require_bearer(request, sim.settings.gateway_token)
    device_id: str = request.path_params["device_id"]
    actual = kind_of(device_id)
    if actual is None or (kind is not None and actual != kind):
        raise not_found()
    latency = sim.state.device(device_id).latency_s
    if latency > 0:
        await asyncio.sleep(latency)
    device = sim.state.device(device_id)  # re-read: a reset may have happened meanwhile
    if device.failing:
        raise Refusal(500, {"error": "device failure"})
    if online and not device.online:
        raise Refusal(409, {"status": "offline"})
    return sim, device_id


def device_body(device_id: str, device: Device) -> dict[str, object]:
    return {"deviceId": device_id, "kind": kind_of(device_id), "online": device.online}


async def get_device(request: Request) -> Response:
    sim, device_id = await reach(request, None, online=False)
    return JSONResponse(device_body(device_id, sim.state.device(device_id)))


async def open_door(request: Request) -> Response:
    """Opens once per commandId; a repeat answers the same, so Anju may retry safely."""
    sim, device_id = await reach(request, "door")
    command_id = (await json_object(request)).get("commandId")
    if not isinstance(command_id, str) or not command_id:
        raise bad_request("commandId must be a non-empty string")
    if sim.state.record_open(device_id, command_id):
        event = gateway_event("door.opened", device_id, {"commandId": command_id})
        sim.webhooks.emit_later("gateway", event)
    return JSONResponse({"status": "opened"})


def validity(body: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """A card's or a code's `validFrom` and `validUntil`: zoned, and in that order; else 400."""
    valid_from, valid_until = parse_iso(body.get("validFrom")), parse_iso(body.get("validUntil"))
    if valid_from is None or valid_until is None:
        raise bad_request("validFrom and validUntil must be ISO-8601 times with a zone")
    if valid_until <= valid_from:
        raise bad_request("validUntil must be after validFrom")
    return valid_from, valid_until


async def put_card(request: Request) -> Response:
    sim, device_id = await reach(request, "door")
    valid_from, valid_until = validity(await json_object(request))
    card_number: str = request.path_params["card_number"]
    sim.state.door_cards(device_id)[card_number] = Card(valid_from, valid_until)
    return Response(status_code=204)


async def delete_card(request: Request) -> Response:
    sim, device_id = await reach(request, "door")
    if sim.state.door_cards(device_id).pop(request.path_params["card_number"], None) is None:
        raise not_found("no such card")
    return Response(status_code=204)


async def snapshot(request: Request) -> Response:
    sim, device_id = await reach(request, "camera")
    mode = sim.state.camera_modes.get(device_id, "ok")
    if mode == "error":
        raise Refusal(500, {"error": "camera error"})
    if mode == "garbage":
        return Response(media.GARBAGE_HTML, media_type="text/html")
    if mode == "huge":
        return Response(media.huge_jpeg(), media_type="image/jpeg")
    return Response(media.TINY_JPEG, media_type="image/jpeg")


routes = [
    Route("/v1/devices/{device_id}", get_device, methods=["GET"]),
    Route("/v1/doors/{device_id}/open", open_door, methods=["POST"]),
    Route("/v1/doors/{device_id}/cards/{card_number}", put_card, methods=["PUT"]),
    Route("/v1/doors/{device_id}/cards/{card_number}", delete_card, methods=["DELETE"]),
    Route("/v1/cameras/{device_id}/snapshot", snapshot, methods=["GET"]),
]
