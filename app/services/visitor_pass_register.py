"""Who sees which visitor pass (app/services/visitor_passes.py issues and ends them), and the
lists: a tenant's room's passes, a landlord's own, and the police register of visitors.

- TENANT: the passes to the room of their running lease (their own and the landlord's repair
  passes), from their lease's start; nothing once it ended.
- LANDLORD: the passes they issued. A tenant's visitors are the tenant's business.
- POLICE: any pass in their scope, with a reason, audited like the register: by the visitor's
  ID number, by room, or every live one (a filter is needed for ended ones). Only they read
  the full ID number.
- The code itself: its issuer only (the visitor has it by SMS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.errors import AnjuError, Code, ForbiddenError, NotFoundError, UserInputError
from app.ids import GivenId
from app.services import audit, idnumbers
from app.services.access_events import running_leases, tenancy_start
from app.services.residents import audit_refusal, check_reason
from app.settings import Settings
from app.store import Doc, Page, Store
from app.viewer import Role, Viewer

ORDER = [("created_at", -1), ("_id", -1)]


def can_see(viewer: Viewer, pass_doc: Doc, room_leases: list[Doc]) -> bool:
    """`room_leases`: the active leases of the pass's room (a tenant sees it through one)."""
    if viewer.account_id is None:
        return False
    if viewer.role is Role.POLICE:
        return viewer.scope.contains(pass_doc.get("place") or {})
    if pass_doc["issued_by"] == viewer.account_id:
        return True
    if viewer.role is not Role.TENANT:
        return False
    day = now().date().isoformat()
    return any(
        lease.get("tenant_id") == viewer.account_id
        and lease["start_date"] <= day <= lease["end_date"]
        and pass_doc.get("lease_id") in (None, lease["_id"])
        and pass_doc["valid_until"] >= tenancy_start(lease)
        for lease in room_leases
    )


def shows_code(viewer: Viewer, pass_doc: Doc) -> bool:
    return viewer.account_id is not None and pass_doc["issued_by"] == viewer.account_id


def id_number_shown(viewer: Viewer, pass_doc: Doc, settings: Settings) -> str:
    """The full number for police, the masked one for everyone else."""
    if viewer.role is Role.POLICE:
        return idnumbers.reveal_id_number(pass_doc, settings)
    return str(pass_doc["id_number_masked"])


def _live() -> dict[str, Any]:
    return {"revoked_at": None, "valid_until": {"$gt": now()}}


@dataclass(frozen=True)
class PassQuery:
    room: GivenId | None  # decoded (and audited, for the police) with the rest
    visitor_id_number: str | None
    active_only: bool


async def passes(
    deps: Deps,
    viewer: Viewer,
    query: PassQuery,
    reason: str | None,
    *,
    first: int | None,
    after: str | None,
) -> Page:
    """The passes this viewer may list (the rules above), newest first."""
    viewer.require()
    if viewer.role is Role.POLICE:
        return await _police(deps, viewer, query, reason, first=first, after=after)
    room_id = query.room.oid() if query.room else None
    if query.visitor_id_number is not None:
        raise UserInputError(
            "Looking people up by ID number is for the police.",
            code=Code.INVALID_ARGUMENT,
            field=["visitorIdNumber"],
        )
    where: dict[str, Any] | None
    if viewer.role is Role.TENANT:
        where = await _tenant_query(deps.store, viewer, room_id)
    elif viewer.role is Role.LANDLORD:
        where = {"issued_by": viewer.account_id}
        if room_id is not None:
            owned = await deps.store.find_by_id(
                "rooms", room_id, {"_id": 1}, landlord_id=viewer.account_id
            )
            if owned is None:
                raise NotFoundError("Room", field=["roomId"])
            where["room_id"] = room_id
    else:
        raise ForbiddenError()
    if where is None:
        return Page(items=[], has_next=False, sort=ORDER)
    if query.active_only:
        where = {**where, **_live()}
    return await deps.store.page("visitor_passes", where, ORDER, first=first, after=after)


async def _tenant_query(
    store: Store, viewer: Viewer, room_id: ObjectId | None
) -> dict[str, Any] | None:
    assert viewer.account_id is not None
    leases = await running_leases(store, viewer.account_id)
    if room_id is not None:
        leases = [lease for lease in leases if lease["room_id"] == room_id]
        if not leases:
            raise NotFoundError("Room", field=["roomId"])
    if not leases:
        return None
    return {
        "$or": [
            {
                "room_id": lease["room_id"],
                "lease_id": {"$in": [None, lease["_id"]]},
                "valid_until": {"$gte": tenancy_start(lease)},
            }
            for lease in leases
        ]
    }


async def _police(
    deps: Deps,
    viewer: Viewer,
    query: PassQuery,
    reason: str | None,
    *,
    first: int | None,
    after: str | None,
) -> Page:
    officer = viewer.require(Role.POLICE)
    store = deps.store
    room, active_only = query.room, query.active_only
    shown: dict[str, Any] = {"activeOnly": active_only}
    try:
        clean_reason = check_reason(reason)
        where: dict[str, Any] = {}
        if query.visitor_id_number:
            number = idnumbers.looked_up(query.visitor_id_number, ["visitorIdNumber"])
            shown["visitorIdNumber"] = idnumbers.mask(number)
            where["id_number_hash"] = idnumbers.lookup_hash(number, deps.settings)
        if room is not None:
            shown["roomId"] = room.shown
            where["room_id"] = room.oid()
        if not where and not active_only:
            raise UserInputError(
                "Give a visitorIdNumber or a roomId to list ended passes.",
                code=Code.REQUIRED,
                field=["visitorIdNumber"],
            )
        if active_only:
            where.update(_live())
        where.update(viewer.scope.place_filter())
        page = await store.page("visitor_passes", where, ORDER, first=first, after=after)
    except AnjuError as error:
        await audit_refusal(store, officer, "police.visitorPasses", reason, shown, error)
        raise
    await audit.record(
        store,
        officer,
        "police.visitorPasses",
        reason=clean_reason,
        target=shown.get("visitorIdNumber") or shown.get("roomId"),
        details={"filter": shown, "results": len(page.items), "more": page.has_next},
    )
    return page
