"""Properties: what landlords rent out, where it is, and its fire-safety equipment.

Rooms and devices carry their property's landlord and place, so that every ownership check
and every scope filter is one indexed condition, with no join.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import safety_checks, safety_stats, stats
from app.store import Doc, Page, Store
from app.validation import check_float, check_int, clean_text
from app.viewer import Role, Viewer

PROPERTY_KINDS = {"APARTMENT_BUILDING", "FIRST_HAND", "SECOND_HAND"}
MAX_EQUIPMENT = 10_000
STAFF = (Role.POLICE, Role.RESPONDER, Role.ADMIN)
PROPERTY_ORDER = [("_id", 1)]


@dataclass
class PlaceIn:
    town: str
    community: str
    grid: str | None


@dataclass
class SafetyIn:
    extinguishers: int
    smoke_detectors: int
    escape_windows: int


# --- visibility ---------------------------------------------------------------------------


def can_see_property(viewer: Viewer, prop: Doc) -> bool:
    """The landlord sees their own; police, responders and admins within their scope."""
    if viewer.account_id is None:
        return False
    if viewer.role is Role.LANDLORD:
        return bool(prop.get("landlord_id") == viewer.account_id)
    if viewer.role in STAFF:
        return viewer.scope.contains(prop.get("place") or {})
    return False


async def owned_property(
    store: Store, viewer: Viewer, property_id: ObjectId, field: list[str] | None = None
) -> Doc:
    """The caller's own property; NOT_FOUND for another landlord's, as for a missing one."""
    landlord_id = viewer.require(Role.LANDLORD)
    doc = await store.find_by_id("properties", property_id, landlord_id=landlord_id)
    if doc is None:
        raise NotFoundError("Property", field=field or ["propertyId"])
    return doc


# --- validation ---------------------------------------------------------------------------


def _check_safety(errors: Collector, safety: SafetyIn) -> dict[str, int]:
    out = {}
    for name, graph_name, value in (
        ("extinguishers", "extinguishers", safety.extinguishers),
        ("smoke_detectors", "smokeDetectors", safety.smoke_detectors),
        ("escape_windows", "escapeWindows", safety.escape_windows),
    ):
        out[name] = check_int(
            errors, ["safety", graph_name], value, low=0, high=MAX_EQUIPMENT, code=Code.OUT_OF_RANGE
        )
    return out


def _check_place(errors: Collector, place: PlaceIn) -> dict[str, str | None]:
    return {
        "town": clean_text(errors, ["place", "town"], place.town, max_len=64),
        "community": clean_text(errors, ["place", "community"], place.community, max_len=64),
        "grid": clean_text(errors, ["place", "grid"], place.grid, max_len=64, required=False)
        or None,
    }


def check_location(errors: Collector, field: list[str], lat: float, lng: float) -> dict[str, float]:
    return {
        "lat": check_float(errors, [*field, "lat"], lat, low=-90, high=90, code=Code.OUT_OF_RANGE),
        "lng": check_float(
            errors, [*field, "lng"], lng, low=-180, high=180, code=Code.OUT_OF_RANGE
        ),
    }


# --- properties ---------------------------------------------------------------------------


async def create_property(
    deps: Deps,
    viewer: Viewer,
    *,
    name: str,
    address: str,
    place: PlaceIn,
    lat: float,
    lng: float,
    kind: str,
    safety: SafetyIn,
) -> Doc:
    landlord_id = viewer.require(Role.LANDLORD)
    errors = Collector()
    doc: Doc = {
        "_id": ObjectId(),
        "landlord_id": landlord_id,
        "name": clean_text(errors, ["name"], name, max_len=100),
        "address": clean_text(errors, ["address"], address, max_len=200),
        "place": _check_place(errors, place),
        "location": check_location(errors, ["location"], lat, lng),
        "kind": kind,
        "safety": _check_safety(errors, safety),
        "created_at": now(),
        "archived_at": None,
    }
    if kind not in PROPERTY_KINDS:
        errors.add(["kind"], Code.INVALID_ARGUMENT, "Unknown property kind.")
    errors.raise_if_any()
    await deps.store.properties.insert_one(doc)
    await stats.bump(deps.store, doc["place"], kind, properties=1, **doc["safety"])
    await safety_stats.record_equipment_added(deps.store, doc, None, doc["safety"])
    return doc


async def update_property(
    deps: Deps,
    viewer: Viewer,
    property_id: ObjectId,
    *,
    name: str | None,
    address: str | None,
    safety: SafetyIn | None,
) -> Doc:
    store = deps.store
    prop = await owned_property(store, viewer, property_id)
    if prop.get("archived_at") is not None:
        raise UserInputError(
            "This property is archived.", code=Code.PROPERTY_ARCHIVED, field=["propertyId"]
        )
    errors = Collector()
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = clean_text(errors, ["name"], name, max_len=100)
    if address is not None:
        changes["address"] = clean_text(errors, ["address"], address, max_len=200)
    if safety is not None:
        changes["safety"] = _check_safety(errors, safety)
    errors.raise_if_any()
    if not changes:
        return prop
    changes["updated_at"] = now()
    # the counters move by the difference between what this very update replaced and wrote,
    # also when two updates race
    async with store.exclusive(f"property:{prop['_id']}"):
        before = await store.properties.find_one_and_update(
            {"_id": prop["_id"], "landlord_id": prop["landlord_id"]},
            {"$set": changes},
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            raise NotFoundError("Property", field=["propertyId"])
        if "safety" in changes:
            old = before.get("safety", {})
            delta = {k: v - int(old.get(k, 0)) for k, v in changes["safety"].items()}
            await stats.bump(store, prop["place"], prop["kind"], **delta)
    updated = {**before, **changes}
    if "safety" in changes:
        await safety_stats.record_equipment_added(
            store, prop, before.get("safety"), changes["safety"]
        )
        await safety_checks.mark(store, prop["_id"])
    if "address" in changes:
        # listings carry the address themselves (a search never joins): keep them in step
        await store.listings.update_many(
            {"property_id": prop["_id"]}, {"$set": {"address": changes["address"]}}
        )
    return updated


async def my_properties(
    deps: Deps,
    viewer: Viewer,
    *,
    first: int | None,
    after: str | None,
    include_archived: bool = False,
) -> Page:
    landlord_id = viewer.require(Role.LANDLORD)
    where: dict[str, Any] = {"landlord_id": landlord_id}
    if not include_archived:
        where["archived_at"] = None
    return await deps.store.page(
        "properties",
        where,
        PROPERTY_ORDER,
        first=first,
        after=after,
        with_total=True,
    )
