"""Population statistics for police and responders, kept as counters.

Counting 1.3 million residents on every request is too slow on a small machine, so each
grid keeps counter documents (one per property kind) that the services bump with `$inc` as
properties, rooms, leases and occupants change. A statistic for a town, community or grid
sums the few counter documents in that scope. `recount()` rebuilds them from the collections
(after a bulk load, or to repair drift after a crash between a change and its bump):
`python -m scripts.recount_stats`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from app.deps import Deps
from app.errors import ForbiddenError
from app.services import audit
from app.store import Store
from app.viewer import Role, Scope, Viewer

COUNTERS = (
    "properties",
    "rooms",
    "occupied_rooms",
    "residents",
    "extinguishers",
    "smoke_detectors",
    "escape_windows",
)
KINDS = ("APARTMENT_BUILDING", "FIRST_HAND", "SECOND_HAND")


def counter_key(place: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "town": place.get("town"),
        "community": place.get("community"),
        "grid": place.get("grid"),
        "kind": kind,
    }


def counter_id(key: dict[str, Any]) -> str:
    return "|".join(str(key[k] or "") for k in ("town", "community", "grid", "kind"))


async def bump(store: Store, place: dict[str, Any], kind: str, **deltas: int) -> None:
    """Adds `deltas` (e.g. rooms=1, residents=-2) to the counters of a place and kind."""
    changes = {k: v for k, v in deltas.items() if v}
    if not changes:
        return
    unknown = set(changes) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown counters {unknown}")
    key = counter_key(place, kind)
    cid = counter_id(key)
    async with store.exclusive(f"counter:{cid}"):
        await store.stats_counters.update_one(
            {"_id": cid}, {"$inc": changes, "$setOnInsert": key}, upsert=True
        )


def effective_scope(viewer: Viewer, requested: Scope | None) -> Scope:
    """The requested scope, narrowed to the viewer's own: an account limited to a town sees
    only that town, whatever it asks for."""
    viewer.require(Role.POLICE, Role.RESPONDER)
    own, asked = viewer.scope, requested or Scope()
    merged = {}
    for level in ("town", "community", "grid"):
        mine, theirs = getattr(own, level), getattr(asked, level)
        if mine and theirs and mine != theirs:
            raise ForbiddenError("That place is outside the area your account serves.")
        merged[level] = mine or theirs
    return Scope(**merged)


async def population_stats(deps: Deps, viewer: Viewer, asked: Scope | None) -> dict[str, Any]:
    """POLICE and RESPONDER: the counters of a town, community or grid within the caller's
    scope. A police look-up is audited."""
    scope = effective_scope(viewer, asked)
    totals = await _totals(deps.store, scope)
    if viewer.role is Role.POLICE:
        await audit.record(
            deps.store,
            viewer.account_id,
            "police.populationStats",
            target="scope:" + "/".join(scope.as_claim().values()),
            details={"scope": scope.as_claim()},
        )
    return totals


async def _totals(store: Store, scope: Scope) -> dict[str, Any]:
    totals: dict[str, int] = dict.fromkeys(COUNTERS, 0)
    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: {"properties": 0, "rooms": 0})
    async for doc in store.stats_counters.find(scope.as_claim()):
        for name in COUNTERS:
            totals[name] += int(doc.get(name, 0))
        by_kind[doc["kind"]]["properties"] += int(doc.get("properties", 0))
        by_kind[doc["kind"]]["rooms"] += int(doc.get("rooms", 0))
    return {
        **totals,
        "by_kind": [{"kind": k, **by_kind[k]} for k in KINDS],
    }


async def recount(store: Store) -> int:
    """Rebuilds every counter from properties, rooms and occupants; returns the number of
    counter documents. Uses only $match/$group/$sum, which FerretDB supports."""
    counters: dict[str, dict[str, Any]] = {}

    def slot(place: dict[str, Any], kind: str) -> dict[str, Any]:
        key = counter_key(place, kind)
        return counters.setdefault(counter_id(key), {**key, **dict.fromkeys(COUNTERS, 0)})

    homes: dict[Any, tuple[dict[str, Any], str]] = {}
    # archived properties and rooms are off the market: not counted (app/services/archiving.py)
    async for prop in store.properties.find(
        {"archived_at": None}, {"place": 1, "kind": 1, "safety": 1}
    ):
        homes[prop["_id"]] = (prop["place"], prop["kind"])
        s = slot(prop["place"], prop["kind"])
        s["properties"] += 1
        for name in ("extinguishers", "smoke_detectors", "escape_windows"):
            s[name] += int(prop.get("safety", {}).get(name, 0))
    # counted here rather than with $group, which FerretDB runs slowly over many groups
    async for room in store.rooms.find({"archived_at": None}, {"property_id": 1, "status": 1}):
        if room["property_id"] in homes:
            place, kind = homes[room["property_id"]]
            s = slot(place, kind)
            s["rooms"] += 1
            if room.get("status") == "OCCUPIED":
                s["occupied_rooms"] += 1
    async for occupant in store.occupants.find({"current": True}, {"property_id": 1}):
        if occupant["property_id"] in homes:
            place, kind = homes[occupant["property_id"]]
            slot(place, kind)["residents"] += 1
    await store.stats_counters.delete_many({})
    docs = [{"_id": cid, **values} for cid, values in counters.items()]
    if docs:
        await store.stats_counters.insert_many(docs)
    return len(docs)
