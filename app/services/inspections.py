"""Fire-safety inspections (消防检查) of rental properties, recorded by responders (the fire
brigade, micro fire stations, community fire managers, grid leaders) of the property's area.

An inspection names who inspected (the caller and the responders or police officers with
them) and when, the checklist (each item passed or failed, with a note and photos), the
enforcement actions taken (罚、改、停、拘: a warning, an order to rectify, a fine, suspension of
use, a detention referral) and the hazards found, each with its severity, room, deadline and
description. Every failed item has at least one hazard and every hazard is of a failed item,
so that the record and the hazards followed afterwards (app/services/hazards.py) agree.

It also keeps what the device data said at that moment, per room: whether it was let, how many
smoke detectors it had and how many were online, for the checklist's "smoke detectors in every
room" and for anyone reading the record later.

POLICE read inspections in their scope, the landlord their own properties'. An inspection is
kept ANJU_RETAIN_FIRE_SAFETY_DAYS (retention.py), its photos as long.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import audit, hazard_notices, hazards, photos
from app.services.notifications import LOCAL_TZ
from app.store import Doc, Page, Store
from app.validation import clean_text
from app.viewer import Role, Scope, Viewer, place_keys

ACTIONS = ("WARNING", "ORDER_TO_RECTIFY", "FINE", "SUSPENSION_OF_USE", "DETENTION_REFERRAL")
INSPECTION_ORDER = [("inspected_at", -1), ("_id", -1)]
PURPOSE = "INSPECTION_PHOTO"
MAX_NOTE = 1000
MAX_FINDING_NOTE = 500
MAX_PHOTOS_PER_FINDING = 9
MAX_HAZARDS = 50
MAX_CO_INSPECTORS = 10
MAX_BACKDATE = dt.timedelta(days=30)
FUTURE_SKEW = dt.timedelta(minutes=5)
CO_INSPECTOR_ROLES = (Role.RESPONDER.value, Role.POLICE.value)


@dataclass(frozen=True)
class FindingIn:
    item: str
    passed: bool
    note: str | None
    photo_upload_ids: Sequence[ObjectId] = ()


@dataclass(frozen=True)
class HazardIn:
    item: str
    room_id: ObjectId | None
    description: str
    severity: str
    deadline: dt.date


@dataclass(frozen=True)
class InspectionIn:
    property_id: ObjectId
    inspected_at: dt.datetime
    co_inspector_ids: Sequence[ObjectId]
    findings: Sequence[FindingIn]
    hazards: Sequence[HazardIn]
    actions: Sequence[str]
    note: str | None


# --- checking what the inspector sent ---------------------------------------------------------


def _check_findings(errors: Collector, findings: Sequence[FindingIn]) -> list[Doc]:
    seen: Counter[str] = Counter()
    out = []
    for i, finding in enumerate(findings):
        field = ["findings", str(i)]
        if finding.item not in hazards.ITEMS:
            errors.add([*field, "item"], Code.INVALID_ARGUMENT, "Unknown checklist item.")
        seen[finding.item] += 1
        if seen[finding.item] == 2:
            errors.add([*field, "item"], Code.DUPLICATE, "Each item once per inspection.")
        note = clean_text(
            errors,
            [*field, "note"],
            finding.note,
            max_len=MAX_FINDING_NOTE,
            required=False,
            multiline=True,
        )
        if len(set(finding.photo_upload_ids)) > MAX_PHOTOS_PER_FINDING:
            errors.add(
                [*field, "photoUploadIds"],
                Code.TOO_MANY_PHOTOS,
                f"At most {MAX_PHOTOS_PER_FINDING} photos an item.",
            )
        out.append({"item": finding.item, "passed": finding.passed, "note": note or None})
    return out


def _check_hazards(errors: Collector, given: Sequence[HazardIn], on: dt.date) -> list[str]:
    if len(given) > MAX_HAZARDS:
        errors.add(["hazards"], Code.OUT_OF_RANGE, f"At most {MAX_HAZARDS} hazards.")
    latest = on + dt.timedelta(days=hazards.MAX_DEADLINE_DAYS)
    texts = []
    for i, hazard in enumerate(given):
        field = ["hazards", str(i)]
        if hazard.item not in hazards.ITEMS:
            errors.add([*field, "item"], Code.INVALID_ARGUMENT, "Unknown checklist item.")
        if hazard.severity not in hazards.SEVERITIES:
            errors.add([*field, "severity"], Code.INVALID_ARGUMENT, "Unknown severity.")
        texts.append(
            clean_text(
                errors,
                [*field, "description"],
                hazard.description,
                max_len=hazards.MAX_DESCRIPTION,
                multiline=True,
            )
        )
        if not on <= hazard.deadline <= latest:
            errors.add(
                [*field, "deadline"],
                Code.OUT_OF_RANGE,
                "From the inspection's day to 180 days after it.",
            )
    return texts


def _check_agreement(
    errors: Collector, findings: Sequence[FindingIn], given: Sequence[HazardIn]
) -> None:
    """Every failed item has a hazard, every hazard is of a failed item."""
    failed = {f.item for f in findings if not f.passed}
    with_hazard = {h.item for h in given}
    for i, finding in enumerate(findings):
        if not finding.passed and finding.item not in with_hazard:
            errors.add(
                ["findings", str(i), "passed"],
                Code.HAZARD_REQUIRED,
                "A failed item needs its hazard: what, how serious, by when.",
            )
    for i, hazard in enumerate(given):
        if hazard.item not in failed:
            errors.add(
                ["hazards", str(i), "item"],
                Code.ITEM_NOT_FAILED,
                "Record the item as failed in the findings.",
            )


def _check_when(errors: Collector, inspected_at: dt.datetime) -> dt.datetime:
    at = now()
    if inspected_at.tzinfo is None or not at - MAX_BACKDATE <= inspected_at <= at + FUTURE_SKEW:
        errors.add(["inspectedAt"], Code.OUT_OF_RANGE, "Within the past 30 days, not ahead.")
        return at
    return inspected_at.astimezone(dt.UTC).replace(
        microsecond=inspected_at.microsecond // 1000 * 1000
    )


async def _co_inspectors(store: Store, caller: ObjectId, ids: Sequence[ObjectId]) -> list[ObjectId]:
    """The responders and police officers named as present (active accounts)."""
    wanted = [i for i in dict.fromkeys(ids) if i != caller]
    if len(wanted) > MAX_CO_INSPECTORS:
        raise UserInputError(
            f"At most {MAX_CO_INSPECTORS} others.", code=Code.OUT_OF_RANGE, field=["coInspectorIds"]
        )
    found = await store.find_by_ids("accounts", wanted)
    for i, oid in enumerate(ids):
        account = found.get(oid)
        if oid == caller:
            continue
        if (
            account is None
            or account["role"] not in CO_INSPECTOR_ROLES
            or account.get("status", "ACTIVE") != "ACTIVE"
        ):
            raise NotFoundError("Account", field=["coInspectorIds", str(i)])
    return wanted


async def room_detectors(store: Store, property_id: ObjectId) -> list[Doc]:
    """Per live room of the property: let or not, its smoke detectors, and how many are
    online, from the device data now."""
    from app.services.rooms import ROOM_ORDER

    rooms = await store.rooms.find(
        {"property_id": property_id, "archived_at": None}, sort=ROOM_ORDER
    ).to_list(None)
    detectors = await store.devices.find(
        {"property_id": property_id, "kind": "SMOKE_DETECTOR", "removed_at": None},
        {"room_id": 1, "online": 1},
    ).to_list(None)
    out = []
    for room in rooms:
        mine = [d for d in detectors if d.get("room_id") == room["_id"]]
        out.append(
            {
                "room_id": room["_id"],
                "number": room["number"],
                "floor": room["floor"],
                "occupied": room["status"] == "OCCUPIED",
                "detectors": len(mine),
                "detectors_online": sum(1 for d in mine if d.get("online")),
            }
        )
    return out


# --- recording ----------------------------------------------------------------------------------


def guard(inspection_id: ObjectId) -> str:
    return f"inspection:{inspection_id}"


async def record_inspection(deps: Deps, viewer: Viewer, given: InspectionIn) -> Doc:
    """RESPONDER: an inspection of a property in their scope (NOT_FOUND outside it). Refusals:
    OUT_OF_RANGE (inspectedAt within the past 30 days; deadlines up to 180 days after it; at
    most 50 hazards, 10 co-inspectors), DUPLICATE (an item twice), HAZARD_REQUIRED,
    ITEM_NOT_FAILED, TOO_MANY_PHOTOS (9 an item), NOT_FOUND (a room of another property, an
    account that is no responder or officer), PROPERTY_ARCHIVED, the photos' own codes."""
    responder_id = viewer.require(Role.RESPONDER)
    store = deps.store
    errors = Collector()
    inspected_at = _check_when(errors, given.inspected_at)
    on = inspected_at.astimezone(LOCAL_TZ).date()
    findings = _check_findings(errors, given.findings)
    texts = _check_hazards(errors, given.hazards, on)
    _check_agreement(errors, given.findings, given.hazards)
    unknown = set(given.actions) - set(ACTIONS)
    if unknown:
        errors.add(["actions"], Code.INVALID_ARGUMENT, "Unknown enforcement action.")
    note = clean_text(
        errors, ["note"], given.note, max_len=MAX_NOTE, required=False, multiline=True
    )
    errors.raise_if_any()
    prop = await store.find_by_id("properties", given.property_id)
    if prop is None or not viewer.scope.contains(prop["place"]):
        raise NotFoundError("Property", field=["propertyId"])
    if prop.get("archived_at") is not None:
        raise UserInputError(
            "This property is archived.", code=Code.PROPERTY_ARCHIVED, field=["propertyId"]
        )
    rooms = {r["room_id"]: r for r in await room_detectors(store, prop["_id"])}
    for i, hazard in enumerate(given.hazards):
        if hazard.room_id is not None and hazard.room_id not in rooms:
            raise NotFoundError("Room", field=["hazards", str(i), "roomId"])
    others = await _co_inspectors(store, responder_id, given.co_inspector_ids)
    inspection_id = ObjectId()
    attached: list[Doc] = []
    try:
        for i, finding in enumerate(given.findings):
            taken = await photos.attach_all(
                deps,
                viewer,
                list(dict.fromkeys(finding.photo_upload_ids)),
                purpose=PURPOSE,
                subject=photos.Subject("inspections", inspection_id, guard(inspection_id)),
                field=["findings", str(i), "photoUploadIds"],
            )
            findings[i]["photo_ids"] = [p["_id"] for p in taken]
            attached += taken
        found = [
            hazards.hazard_doc(
                prop,
                source=hazards.INSPECTION,
                item=h.item,
                description=text,
                severity=h.severity,
                deadline=h.deadline,
                room_id=h.room_id,
                inspection_id=inspection_id,
                found_by=responder_id,
            )
            for h, text in zip(given.hazards, texts, strict=True)
        ]
        doc: Doc = {
            "_id": inspection_id,
            "property_id": prop["_id"],
            "landlord_id": prop["landlord_id"],
            "place": prop["place"],
            "scope_keys": place_keys(prop["place"]),
            "inspected_at": inspected_at,
            "recorded_by": responder_id,
            "inspectors": [responder_id, *others],
            "findings": findings,
            "actions": [a for a in ACTIONS if a in set(given.actions)],
            "hazard_ids": [h["_id"] for h in found],
            "note": note or None,
            "rooms": list(rooms.values()),
            "photos": [photos.ref(p) for p in attached],
            "created_at": now(),
        }
        await store.inspections.insert_one(doc)
    except BaseException:
        await photos.discard(deps, [p["_id"] for p in attached])
        raise
    for new in found:
        await store.hazards.insert_one(new)
    kept = inspected_at + dt.timedelta(days=deps.settings.retain_fire_safety_days)
    await photos.keep_until(store, [p["_id"] for p in attached], kept)
    await audit.record(
        store,
        responder_id,
        "inspection.record",
        target=("Inspection", inspection_id),
        details={
            "propertyId": str(prop["_id"]),
            "hazards": len(found),
            "actions": doc["actions"],
        },
    )
    for new in found:
        await hazard_notices.found(store, new, found_by=doc["inspectors"])
    return doc


# --- reading ------------------------------------------------------------------------------------


def can_see(viewer: Viewer, doc: Doc) -> bool:
    """Its property's landlord; responders and police whose scope holds it."""
    return hazards.can_see(viewer, doc)


async def inspections(
    deps: Deps,
    viewer: Viewer,
    *,
    scope: Scope | None,
    property_id: ObjectId | None,
    first: int | None,
    after: str | None,
) -> Page:
    """RESPONDER and POLICE (their scope), LANDLORD (their properties): newest first."""
    where = await hazards.visible_where(deps, viewer, scope, property_id)
    return await deps.store.page(
        "inspections", where, INSPECTION_ORDER, first=first, after=after, with_total=True
    )
