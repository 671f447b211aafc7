"""Door codes (DEVICES.md, version 2): visitor passes, typed on a door's keypad.

A door holds codes by codeId as it holds cards by number, and meets the same faults: the /v1
calls go through the gateway's refusals (down, garbage, token, unknown id or not a door,
latency, failing device, offline door 409), and the keypad control, like the swipe one, needs
the door online and delivers the signed `door.code` event before it answers.

Where DEVICES.md is silent, the simulator does what a vendor platform would:

- `code` is exactly six ASCII digits; `validFrom`/`validUntil` are checked as for cards.
- A door may hold the same digits under two codeIds (the protocol's PUT only answers 204):
  typed, they grant, and the event names the smallest codeId among those valid now. Anju
  should keep a door's live codes distinct.
- The keypad takes 1 to 12 digits (400 otherwise: it has no other keys). Digits that match no
  code valid now are refused: `{"codeId": null, "granted": false}`. The event never carries
  the digits typed.

Controls: `GET /sim/doors/{id}/codes` (those valid now; `?all=1` every code held) and `POST
/sim/doors/{id}/keypad` `{"code"}`. `POST /sim/reset` forgets every code."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim.common import (
    bad_request,
    json_object,
    known_device,
    not_found,
    require_online,
    send_gateway_event,
)
from sim.gateway import reach, validity
from sim.state import DoorCode, iso, utcnow

CODE = re.compile(r"[0-9]{6}")
TYPED = re.compile(r"[0-9]{1,12}")


async def put_code(request: Request) -> Response:
    """Stores the code, or replaces its digits and validity."""
    sim, device_id = await reach(request, "door")
    body = await json_object(request)
    code = body.get("code")
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise bad_request("code must be a string of 6 digits")
    valid_from, valid_until = validity(body)
    code_id: str = request.path_params["code_id"]
    sim.state.door_codes(device_id)[code_id] = DoorCode(valid_from, valid_until, code)
    return Response(status_code=204)


async def delete_code(request: Request) -> Response:
    sim, device_id = await reach(request, "door")
    if sim.state.door_codes(device_id).pop(request.path_params["code_id"], None) is None:
        raise not_found("no such code")
    return Response(status_code=204)


async def list_codes(request: Request) -> Response:
    """Codes valid now; `?all=1` lists every code held, future or expired."""
    sim, device_id = known_device(request, "door")
    every = request.query_params.get("all", "") in {"1", "true", "yes"}
    now = utcnow()
    return JSONResponse(
        [
            {
                "codeId": code_id,
                "code": c.code,
                "validFrom": iso(c.valid_from),
                "validUntil": iso(c.valid_until),
            }
            for code_id, c in sorted(sim.state.door_codes(device_id).items())
            if every or c.valid_at(now)
        ]
    )


async def keypad(request: Request) -> Response:
    """Someone types digits on the door: granted by a code valid now; Anju hears of it."""
    sim, device_id = known_device(request, "door")
    typed = (await json_object(request)).get("code")
    if not isinstance(typed, str) or not TYPED.fullmatch(typed):
        raise bad_request("code must be a string of 1 to 12 digits")
    require_online(sim, device_id)
    now = utcnow()
    matching = sorted(
        code_id
        for code_id, c in sim.state.door_codes(device_id).items()
        if c.code == typed and c.valid_at(now)
    )
    code_id = matching[0] if matching else None
    data = {"codeId": code_id, "granted": code_id is not None}
    answer = await send_gateway_event(sim, "door.code", device_id, data)
    return JSONResponse({**data, **answer})


routes = [
    Route("/v1/doors/{device_id}/codes/{code_id}", put_code, methods=["PUT"]),
    Route("/v1/doors/{device_id}/codes/{code_id}", delete_code, methods=["DELETE"]),
    Route("/sim/doors/{device_id}/codes", list_codes, methods=["GET"]),
    Route("/sim/doors/{device_id}/keypad", keypad, methods=["POST"]),
]
