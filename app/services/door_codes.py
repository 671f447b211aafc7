"""Door codes: the six-digit PIN of a visitor pass, typed on a door's keypad (DEVICES.md,
"Door codes"). The pass (app/services/visitor_passes.py) is the code's desired state, as an
occupant's card is a card's: the card outbox (app/services/card_outbox.py) brings every door
to it with the same jobs, claims, retries and ordering, keyed `<deviceId>|code:<codeId>`.

A pass carries `code`, `valid_from`, `valid_until`, `revoked_at` and `version` (bumped with
every change in the same write, its jobs queued first). Its codeId at the gateway is the
pass's own id. Every live code of a property is distinct (the entrance holds them all): a new
code is drawn until it differs from theirs.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection

from bson import ObjectId

from app.clock import now
from app.services.cards import DELETE, PUT
from app.store import Doc, Store

CODE_DIGITS = 6
CODE_PREFIX = "code:"


def code_id(pass_id: ObjectId) -> str:
    """A pass's codeId at the gateway."""
    return str(pass_id)


def credential(pass_doc: Doc) -> str:
    """The code's half of an outbox key (a card's is its number: digits only, never this)."""
    return f"{CODE_PREFIX}{code_id(pass_doc['_id'])}"


def new_code(taken: Collection[str]) -> str:
    """Six random digits from the OS's CSPRNG, none of `taken` (the property's live codes)."""
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if code not in taken:
            return code


def desired(pass_doc: Doc) -> Doc:
    """What every door of the pass should hold for its code."""
    if pass_doc.get("revoked_at") is not None:
        return {"op": DELETE, "code": None, "valid_from": None, "valid_until": None}
    return {
        "op": PUT,
        "code": pass_doc["code"],
        "valid_from": pass_doc["valid_from"],
        "valid_until": pass_doc["valid_until"],
    }


def live_query(property_id: ObjectId, room_id: ObjectId | None = None) -> Doc:
    """Passes whose code may still open a door of the property (or of one room: a room is
    in one property, so it alone is asked, by its own index)."""
    place: Doc = {"room_id": room_id} if room_id is not None else {"property_id": property_id}
    return {**place, "revoked_at": None, "valid_until": {"$gt": now()}}


async def live_codes(store: Store, property_id: ObjectId) -> set[str]:
    found = store.visitor_passes.find(live_query(property_id), {"code": 1})
    return {p["code"] async for p in found}
