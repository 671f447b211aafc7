"""Device claims (DEVICES.md, version 2): binding a device to a property proves possession of
the claim code printed on its label. The platform checks the code, so Anju never holds one.

Where DEVICES.md is silent, the simulator does what a vendor platform would:

- The label's code is `claim_code(device_id)`: HMAC-SHA256 of the id under a fixed simulator
  salt (not a secret), 40 bits of it written as 8 symbols of an alphabet without look-alikes
  (digits 2-9 and the letters but I and O). Deterministic, so tests and the demo loader can
  print or type it: `from sim.claims import claim_code`.
- A typed code is compared after dropping spaces and hyphens and upper-casing, as a person
  copies it from a label; a code that is not a string is a 400.
- The code is checked before the owner: only someone holding the label learns that another
  owner has the device (403 before 409). Claiming again as the same owner answers 200.
- A release needs no code (the owner reference is the platform account's own); releasing a
  device not claimed by that owner, or an unknown one, is a 404.
- Claims are records on the platform, not commands to the device: they meet the gateway's
  faults (down, garbage, token, unknown id, latency, failing device) but not the device's
  being offline, exactly like `GET /v1/devices/{id}`, and answer its `online` as that does.
- Claims gate nothing else: version 1 clients, which never claim, keep working.

Controls: `GET /sim/devices/{id}/label` (`{"deviceId","kind","claimCode"}`) and `GET
/sim/claims` (`[{"deviceId","owner"}]`). `POST /sim/reset` forgets every claim."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim.common import Refusal, bad_request, json_object, known_device, not_found, sim_of
from sim.gateway import device_body, reach
from sim.state import kind_of

CLAIM_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: 5 bits each
CLAIM_CODE_LENGTH = 8
MAX_OWNER_LENGTH = 200
_SALT = b"anju-simulator-claim-code-v1"


def claim_code(device_id: str) -> str:
    """The claim code on the label of `device_id`; ValueError for an id the gateway lacks."""
    if kind_of(device_id) is None:
        raise ValueError(f"no such device: {device_id!r}")
    digest = hmac.new(_SALT, device_id.encode(), hashlib.sha256).digest()
    bits = int.from_bytes(digest[:5], "big")  # 40 bits, 5 per symbol
    symbols = (bits >> (5 * i) & 31 for i in reversed(range(CLAIM_CODE_LENGTH)))
    return "".join(CLAIM_ALPHABET[s] for s in symbols)


def code_matches(device_id: str, typed: str) -> bool:
    normalized = "".join(typed.split()).replace("-", "").upper()
    return hmac.compare_digest(normalized.encode(), claim_code(device_id).encode())


def _owner(body: dict[str, Any]) -> str:
    owner = body.get("owner")
    if not isinstance(owner, str) or not owner.strip() or len(owner) > MAX_OWNER_LENGTH:
        raise bad_request(f"owner must be a non-empty string of at most {MAX_OWNER_LENGTH}")
    return owner


async def claim(request: Request) -> Response:
    sim, device_id = await reach(request, None, online=False)
    body = await json_object(request)
    owner, typed = _owner(body), body.get("claimCode")
    if not isinstance(typed, str):
        raise bad_request("claimCode must be a string")
    if not code_matches(device_id, typed):
        raise Refusal(403, {"error": "claim_rejected"})
    holder = sim.state.claims.setdefault(device_id, owner)
    if holder != owner:
        raise Refusal(409, {"error": "claimed"})
    return JSONResponse(device_body(device_id, sim.state.device(device_id)))


async def release(request: Request) -> Response:
    sim, device_id = await reach(request, None, online=False)
    owner = _owner(await json_object(request))
    if sim.state.claims.get(device_id) != owner:
        raise not_found("no claim by that owner")
    del sim.state.claims[device_id]
    return Response(status_code=204)


async def label(request: Request) -> Response:
    _, device_id = known_device(request)
    kind = kind_of(device_id)
    return JSONResponse({"deviceId": device_id, "kind": kind, "claimCode": claim_code(device_id)})


async def list_claims(request: Request) -> Response:
    claims = sorted(sim_of(request).state.claims.items())
    return JSONResponse([{"deviceId": device_id, "owner": owner} for device_id, owner in claims])


routes = [
    Route("/v1/devices/{device_id}/claims", claim, methods=["POST"]),
    Route("/v1/devices/{device_id}/claims", release, methods=["DELETE"]),
    Route("/sim/devices/{device_id}/label", label, methods=["GET"]),
    Route("/sim/claims", list_claims, methods=["GET"]),
]
