"""Device claims: binding a device proves possession of the claim code printed on its label
(DEVICES.md, "Device claims"). The vendor's platform checks the code; Anju never stores or
compares one.

Every refusal reads the same, DEVICE_CLAIM_FAILED: an unknown device, a device of another
kind, a wrong code, a device another property holds. A landlord without the label learns
nothing about a device id (whether it exists, what it is, whose it is). Failed claims are
limited per landlord (ANJU_DEVICE_CLAIM_FAILURES per ANJU_DEVICE_CLAIM_WINDOW_S), counted
before the platform is asked so that parallel guesses stay within the limit too; a claim that
succeeds (or that the platform could not answer) is given back.

The claim's owner is the property (`owner_ref`): a device moves between two properties of the
same landlord only by removing it from one first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from bson import ObjectId

from app.clients.gateway import ClaimRefused, DeviceInfo, GatewayError
from app.deps import Deps
from app.errors import Code, Collector, UnavailableError, UserInputError
from app.services import rate_limits

log = logging.getLogger("anju.devices")

# our kind -> the gateway's
GATEWAY_KINDS = {"DOOR": "door", "CAMERA": "camera", "SMOKE_DETECTOR": "smoke_detector"}
_CLAIM_CODE = re.compile(r"^[A-Za-z0-9 -]{4,32}$")


def owner_ref(property_id: ObjectId) -> str:
    """Anju's opaque reference of a property at the platform."""
    return f"anju-property-{property_id}"


def check_code(errors: Collector, field: Sequence[str], raw: str | None) -> str:
    """A claim code as typed from a label (letters, digits, spaces and hyphens)."""
    code = (raw or "").strip()
    if not code:
        errors.add(field, Code.REQUIRED, "Type the claim code printed on the device's label.")
    elif not _CLAIM_CODE.match(code):
        errors.add(field, Code.INVALID_ARGUMENT, "Not a claim code as printed on a label.")
    return code


def claim_failed(field: Sequence[str]) -> UserInputError:
    return UserInputError(
        "This device could not be claimed: check its id and the claim code on its label.",
        code=Code.DEVICE_CLAIM_FAILED,
        field=list(field),
    )


async def claim(
    deps: Deps,
    landlord_id: ObjectId,
    *,
    device_id: str,
    claim_code: str,
    owner: str,
    kind: str,
    field: Sequence[str],
) -> DeviceInfo:
    """Claims the device for `owner` if the code is right and the device is of `kind`; else
    DEVICE_CLAIM_FAILED (and a device of another kind claimed meanwhile is released again).
    RATE_LIMITED after too many failures; SERVICE_UNAVAILABLE while the platform is down."""
    settings = deps.settings
    counter = await rate_limits.spend(
        deps.store,
        settings,
        "device-claim",
        str(landlord_id),
        limit=settings.device_claim_failures,
        window_s=settings.device_claim_window_s,
    )
    try:
        info = await deps.gateway.claim_device(device_id, claim_code, owner)
    except ClaimRefused as exc:
        raise claim_failed(field) from exc
    except GatewayError as exc:
        await rate_limits.give_back_spent(deps.store, counter)
        raise UnavailableError("The device gateway is unavailable; try again shortly.") from exc
    if info.kind != GATEWAY_KINDS[kind]:
        # given back, unless it is the claim of a device already bound to this property
        bound = await deps.store.devices.find_one({"device_id": device_id}, {"property_id": 1})
        if bound is None or owner_ref(bound["property_id"]) != owner:
            await release(deps, device_id, owner)
        raise claim_failed(field)
    await rate_limits.give_back_spent(deps.store, counter)
    return info


async def release(deps: Deps, device_id: str, owner: str, *, strict: bool = False) -> None:
    """Gives the device back at the platform. `strict`: SERVICE_UNAVAILABLE when the
    platform cannot be reached (before anything changes); otherwise a failure is logged (the
    claim then stays with the property: the device can be removed again later)."""
    try:
        await deps.gateway.release_device(device_id, owner)
    except GatewayError as exc:
        if strict:
            raise UnavailableError("The device gateway is unavailable; try again shortly.") from exc
        log.warning("device %s: releasing its claim failed (%s)", device_id, exc)
