"""Listings: published vacancies, and the public search over them.

A listing copies the public fields of its room, property and landlord (title, rent, area,
address, place, location, landlord name, contact phone), so a search reads one collection
and never joins.

One live listing per room, with no partial index (FerretDB has none): `live_key` holds the
room's id while the listing is live and the listing's own id once it is unpublished. A unique
index on `live_key` then refuses a second live listing for a room, through the insert that
publishes it (the one write FerretDB reports a duplicate for reliably), while any number of
unpublished listings of that room stay unique by their own ids.

Search: every query has `live: true`, equality on town and community, ranges on rent, area,
available date and the location box, and one of a few sorts; each is served by an index of
`app.db.INDEXES`. Text is an escaped regular expression (FerretDB has no $text), on a
normalised copy of title and description (`search_text`: NFKC, case-folded, one space between
words) and, case-insensitively, on the address (which the properties domain updates in place).
`near` is a bounding box on `location.lat`/`location.lng` and then the exact great-circle
distance in Python; on a MongoDB with a 2dsphere index on `geo` the box becomes `$geoWithin`
(see `detect_capabilities`). Pages are keyset pages: the cursor is the sort key of the last row.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, NamedTuple

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc, find_by_id, find_by_ids
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.geo import EARTH_RADIUS_KM, bounding_box, haversine_km
from app.pagination import Page, SortSpec, after_filter, check_first, decode_cursor
from app.services.clock import now, today
from app.services.properties import MAX_AREA_SQM, MAX_RENT_FEN, check_rent, owned_room
from app.validation import check_float, check_int, check_phone, clean_text
from app.viewer import Role, Viewer

MAX_TITLE = 100
MAX_DESCRIPTION = 2000
MAX_TEXT_QUERY = 64
MAX_PLACE_NAME = 64
MAX_RADIUS_KM = 50.0
# availableFrom may lie a year either side of today: earlier means "available now", and
# nobody advertises a room more than a year ahead.
AVAILABLE_WINDOW = dt.timedelta(days=366)

SORTS: dict[str, list[tuple[str, int]]] = {
    "NEWEST": [("published_at", -1), ("_id", -1)],
    "RENT_ASC": [("monthly_rent_fen", 1), ("_id", 1)],
    "RENT_DESC": [("monthly_rent_fen", -1), ("_id", -1)],
    "AREA_DESC": [("area_sqm", -1), ("_id", -1)],
    # not a stored field: computed per search, then sorted and paged in Python
    "DISTANCE": [("distance_km", 1), ("_id", 1)],
}
_CURSOR_TYPES: dict[str, tuple[type, ...]] = {
    "published_at": (dt.datetime,),
    "monthly_rent_fen": (int,),
    "area_sqm": (int, float),
    "distance_km": (int, float),
    "_id": (ObjectId,),
}
_REGEX_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}/#-])")


# --- documents ----------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """What text search compares: NFKC (full-width letters and digits become ASCII),
    case-folded, one space between words."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def listing_doc(
    *,
    room: Doc,
    prop: Doc,
    landlord: Doc,
    title: str,
    description: str,
    monthly_rent_fen: int,
    available_from: dt.date,
    contact_phone: str,
    published_at: dt.datetime,
    listing_id: ObjectId | None = None,
) -> Doc:
    """A live listing's document. The one place its shape is written: the service and the
    synthetic city (scripts/city.py) both build listings here."""
    lat, lng = prop["location"]["lat"], prop["location"]["lng"]
    return {
        "_id": listing_id or ObjectId(),
        "room_id": room["_id"],
        "property_id": prop["_id"],
        "landlord_id": prop["landlord_id"],
        "live": True,
        "live_key": room["_id"],
        "title": title,
        "description": description,
        "search_text": normalize_text(f"{title} {description}"),
        "monthly_rent_fen": monthly_rent_fen,
        "area_sqm": room["area_sqm"],
        "address": prop["address"],
        "place": prop["place"],
        "location": {"lat": lat, "lng": lng},
        # GeoJSON twin of `location`, for a 2dsphere index where the server has them
        "geo": {"type": "Point", "coordinates": [lng, lat]},
        "available_from": available_from.isoformat(),
        "landlord_name": landlord["name"],
        "contact_phone": contact_phone,
        "published_at": published_at,
        "unpublished_at": None,
    }


# --- visibility ---------------------------------------------------------------------------


def owns(viewer: Viewer, listing: Doc) -> bool:
    return (
        viewer.role is Role.LANDLORD
        and viewer.account_id is not None
        and listing.get("landlord_id") == viewer.account_id
    )


def can_see(viewer: Viewer, listing: Doc) -> bool:
    """Live listings are public; an unpublished one only its landlord still sees."""
    return bool(listing.get("live")) or owns(viewer, listing)


# --- publishing ---------------------------------------------------------------------------


async def publish_listing(
    db: AsyncDatabase[Doc],
    viewer: Viewer,
    room_id: ObjectId,
    *,
    title: str,
    description: str,
    available_from: dt.date,
    monthly_rent_fen: int | None = None,
    contact_phone: str | None = None,
) -> Doc:
    room = await owned_room(db, viewer, room_id)
    errors = Collector()
    clean_title = clean_text(errors, ["title"], title, max_len=MAX_TITLE)
    clean_description = clean_text(
        errors,
        ["description"],
        description,
        max_len=MAX_DESCRIPTION,
        multiline=True,
        required=False,
    )
    rent = room["monthly_rent_fen"] if monthly_rent_fen is None else monthly_rent_fen
    check_rent(errors, ["monthlyRentFen"], rent)
    day = today()
    if not day - AVAILABLE_WINDOW <= available_from <= day + AVAILABLE_WINDOW:
        errors.add(["availableFrom"], Code.OUT_OF_RANGE, "Must be within a year of today.")
    phone = None
    if contact_phone is not None:
        phone = check_phone(errors, ["contactPhone"], contact_phone)
    errors.raise_if_any()
    if room["status"] != "VACANT":
        raise UserInputError(
            "Only a vacant room can be published.", code=Code.ROOM_NOT_VACANT, field=["roomId"]
        )
    prop, landlord = await asyncio.gather(
        db.properties.find_one({"_id": room["property_id"]}),
        db.accounts.find_one({"_id": room["landlord_id"]}),
    )
    if prop is None or landlord is None:
        raise NotFoundError("Room", field=["roomId"])
    doc = listing_doc(
        room=room,
        prop=prop,
        landlord=landlord,
        title=clean_title,
        description=clean_description,
        monthly_rent_fen=rent,
        available_from=available_from,
        contact_phone=phone or landlord["phone"],
        published_at=now(),
    )
    try:
        await db.listings.insert_one(doc)
    except DuplicateKeyError as exc:
        raise UserInputError(
            "This room already has a live listing.",
            code=Code.ALREADY_PUBLISHED,
            field=["roomId"],
        ) from exc
    # A lease may have started between the check above and the insert. Leases set the room
    # OCCUPIED and then call unpublish_for_room; whichever of us comes second undoes the
    # listing, so a live listing never outlives its vacancy.
    current = await db.rooms.find_one({"_id": room["_id"]}, {"status": 1})
    if current is None or current["status"] != "VACANT":
        await _take_down(db, doc)
        raise UserInputError(
            "Only a vacant room can be published.", code=Code.ROOM_NOT_VACANT, field=["roomId"]
        )
    return doc


async def _take_down(db: AsyncDatabase[Doc], listing: Doc) -> Doc:
    """Unpublishes one listing: `live_key` moves from the room's id to the listing's own."""
    changes = {"live": False, "live_key": listing["_id"], "unpublished_at": now()}
    await db.listings.update_one(
        {"_id": listing["_id"], "live_key": listing["live_key"]}, {"$set": changes}
    )
    return {**listing, **changes}


async def unpublish_listing(db: AsyncDatabase[Doc], viewer: Viewer, listing_id: ObjectId) -> Doc:
    """Takes the caller's listing down. Idempotent: an unpublished listing comes back as is."""
    landlord_id = viewer.require(Role.LANDLORD)
    doc = await find_by_id(db.listings, listing_id, landlord_id=landlord_id)
    if doc is None:
        raise NotFoundError("Listing", field=["listingId"])
    if not doc["live"]:
        return doc
    return await _take_down(db, doc)


async def unpublish_for_room(db: AsyncDatabase[Doc], room_id: ObjectId) -> None:
    """Takes down the room's live listing, if any (a lease starting calls this after it has
    set the room OCCUPIED)."""
    doc = await db.listings.find_one({"live_key": room_id})
    if doc is not None:
        await _take_down(db, doc)


# --- search -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Near:
    lat: float
    lng: float
    radius_km: float


@dataclass(frozen=True)
class ListingQuery:
    """A search's filters, as the caller gave them (`clean_query` checks them)."""

    text: str | None = None
    town: str | None = None
    community: str | None = None
    min_rent_fen: int | None = None
    max_rent_fen: int | None = None
    min_area_sqm: float | None = None
    max_area_sqm: float | None = None
    near: Near | None = None
    available_by: dt.date | None = None


def clean_query(query: ListingQuery, sort: str) -> ListingQuery:
    """The query trimmed and checked; a UserInputError with a stable code otherwise."""
    errors = Collector()
    at, bad = ["filter"], Code.OUT_OF_RANGE

    def text(name: str, value: str | None, max_len: int) -> str | None:
        if value is None:
            return None
        cleaned = clean_text(errors, ["filter", name], value, max_len=max_len, required=False)
        return cleaned or None

    for name in ("min_rent_fen", "max_rent_fen"):
        value = getattr(query, name)
        if value is not None:
            check_int(errors, [*at, _camel(name)], value, low=1, high=MAX_RENT_FEN, code=bad)
    for name in ("min_area_sqm", "max_area_sqm"):
        value = getattr(query, name)
        if value is not None:
            check_float(errors, [*at, _camel(name)], value, low=1, high=MAX_AREA_SQM, code=bad)
    for low_name, high_name in (("min_rent_fen", "max_rent_fen"), ("min_area_sqm", "max_area_sqm")):
        low, high = getattr(query, low_name), getattr(query, high_name)
        if low is not None and high is not None and low > high:
            errors.add(
                ["filter", _camel(low_name)],
                Code.INVALID_RANGE,
                "The minimum is above the maximum.",
            )
    near = query.near
    if near is not None:
        check_float(errors, [*at, "near", "lat"], near.lat, low=-90, high=90, code=bad)
        check_float(errors, [*at, "near", "lng"], near.lng, low=-180, high=180, code=bad)
        radius = [*at, "near", "radiusKm"]
        check_float(errors, radius, near.radius_km, low=0, high=MAX_RADIUS_KM, code=bad)
        if near.radius_km == 0:
            errors.add(radius, bad, "Must be above 0.")
    if sort not in SORTS:
        errors.add(["sort"], Code.INVALID_ARGUMENT, "Unknown sort.")
    elif sort == "DISTANCE" and near is None:
        errors.add(["sort"], Code.NEAR_REQUIRED, "Sorting by distance needs `filter.near`.")
    cleaned = ListingQuery(
        text=text("text", query.text, MAX_TEXT_QUERY),
        town=text("town", query.town, MAX_PLACE_NAME),
        community=text("community", query.community, MAX_PLACE_NAME),
        min_rent_fen=query.min_rent_fen,
        max_rent_fen=query.max_rent_fen,
        min_area_sqm=query.min_area_sqm,
        max_area_sqm=query.max_area_sqm,
        near=near,
        available_by=query.available_by,
    )
    errors.raise_if_any()
    return cleaned


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _escape(text: str) -> str:
    """A regular expression matching `text` literally, the same in PCRE (MongoDB) and RE2
    (FerretDB): only ASCII punctuation is escaped, which both read as itself."""
    return _REGEX_SPECIAL.sub(r"\\\1", text)


def geo_clause(near: Near, *, native: bool) -> dict[str, Any]:
    """The part of a search filter that narrows to `near`: a 2dsphere `$geoWithin` where the
    server has that index, else an indexed box. Either way the exact distance is checked in
    Python after, so both give the same answer."""
    if native:
        return {
            "geo": {
                "$geoWithin": {
                    "$centerSphere": [[near.lng, near.lat], near.radius_km / EARTH_RADIUS_KM]
                }
            }
        }
    box = bounding_box(near.lat, near.lng, near.radius_km)
    clause: dict[str, Any] = {"location.lat": {"$gte": box.lat_min, "$lte": box.lat_max}}
    if box.lng_ranges is not None and len(box.lng_ranges) == 1:
        lo, hi = box.lng_ranges[0]
        clause["location.lng"] = {"$gte": lo, "$lte": hi}
    elif box.lng_ranges is not None:
        clause["$or"] = [{"location.lng": {"$gte": lo, "$lte": hi}} for lo, hi in box.lng_ranges]
    return clause


def search_filter(query: ListingQuery, *, geo_native: bool = False) -> dict[str, Any]:
    """The database filter of a cleaned query (without the page's cursor)."""
    parts: list[dict[str, Any]] = []
    base: dict[str, Any] = {"live": True}
    if query.town:
        base["place.town"] = query.town
    if query.community:
        base["place.community"] = query.community
    for field, low, high in (
        ("monthly_rent_fen", query.min_rent_fen, query.max_rent_fen),
        ("area_sqm", query.min_area_sqm, query.max_area_sqm),
    ):
        bounds = {}
        if low is not None:
            bounds["$gte"] = low
        if high is not None:
            bounds["$lte"] = high
        if bounds:
            base[field] = bounds
    if query.available_by is not None:
        base["available_from"] = {"$lte": query.available_by.isoformat()}
    if query.near is not None:
        geo = geo_clause(query.near, native=geo_native)
        if "$or" in geo:
            parts.append({"$or": geo.pop("$or")})
        base.update(geo)
    if query.text:
        needle = normalize_text(query.text)
        parts.append(
            {
                "$or": [
                    {"search_text": {"$regex": _escape(needle)}},
                    {"address": {"$regex": _escape(needle), "$options": "i"}},
                ]
            }
        )
    return {"$and": [base, *parts]} if parts else base


def _check_cursor(sort: SortSpec, values: list[Any]) -> None:
    for (name, _), value in zip(sort, values, strict=True):
        if isinstance(value, bool) or not isinstance(value, _CURSOR_TYPES[name]):
            raise UserInputError("Invalid cursor.", code=Code.INVALID_CURSOR, field=["after"])


def _distance(near: Near, doc: Doc) -> float:
    loc = doc.get("location") or {}
    return haversine_km(near.lat, near.lng, loc.get("lat", 0.0), loc.get("lng", 0.0))


async def search(
    db: AsyncDatabase[Doc],
    query: ListingQuery,
    sort: str = "NEWEST",
    *,
    first: int | None = 20,
    after: str | None = None,
    geo_native: bool = False,
    point_lookups: bool = False,
) -> tuple[Page, SortSpec]:
    """One page of live listings matching `query`, in `sort` order, with the total count.
    With `near`, each document carries `distance_km`."""
    query = clean_query(query, sort)
    limit = check_first(first)
    spec = SORTS[sort]
    cursor_values = decode_cursor(after, len(spec)) if after else None
    if cursor_values is not None:
        _check_cursor(spec, cursor_values)
    where = search_filter(query, geo_native=geo_native)
    if query.near is None:
        return await _plain_page(db, where, spec, limit, cursor_values), spec
    if sort == "DISTANCE":
        page = await _distance_page(db, where, query.near, limit, cursor_values, point_lookups)
        return page, spec
    return await _near_page(db, where, query.near, spec, limit, cursor_values), spec


def _with_after(where: dict[str, Any], spec: SortSpec, values: list[Any] | None) -> dict[str, Any]:
    return {"$and": [where, after_filter(spec, values)]} if values is not None else where


async def _plain_page(
    db: AsyncDatabase[Doc],
    where: dict[str, Any],
    spec: SortSpec,
    limit: int,
    values: list[Any] | None,
) -> Page:
    async def rows() -> list[Doc]:
        if not limit:
            return []
        found = db.listings.find(_with_after(where, spec, values), sort=list(spec), limit=limit + 1)
        return await found.to_list(None)

    items, total = await asyncio.gather(rows(), db.listings.count_documents(where))
    return Page(items=items[:limit], has_next=len(items) > limit, total_count=total)


async def _count_within(db: AsyncDatabase[Doc], where: dict[str, Any], near: Near) -> int:
    count = 0
    async for doc in db.listings.find(where, {"location": 1}):
        if _distance(near, doc) <= near.radius_km:
            count += 1
    return count


async def _near_page(
    db: AsyncDatabase[Doc],
    where: dict[str, Any],
    near: Near,
    spec: SortSpec,
    limit: int,
    values: list[Any] | None,
) -> Page:
    """A page in a stored-field order: walk the box in that order, keeping the rows within
    the circle, until the page (and one more, to know there is a next) is full."""

    async def rows() -> list[Doc]:
        kept: list[Doc] = []
        if not limit:
            return kept
        found = db.listings.find(_with_after(where, spec, values), sort=list(spec))
        async for doc in found:
            distance = _distance(near, doc)
            if distance <= near.radius_km:
                kept.append({**doc, "distance_km": distance})
                if len(kept) > limit:
                    break
        await found.close()
        return kept

    items, total = await asyncio.gather(rows(), _count_within(db, where, near))
    return Page(items=items[:limit], has_next=len(items) > limit, total_count=total)


async def _distance_page(
    db: AsyncDatabase[Doc],
    where: dict[str, Any],
    near: Near,
    limit: int,
    values: list[Any] | None,
    point_lookups: bool,
) -> Page:
    """A page by distance: the distances of every candidate in the box (only their
    locations are read), sorted, then the page's documents by id."""
    keyed: list[tuple[float, ObjectId]] = []
    async for doc in db.listings.find(where, {"location": 1}):
        distance = _distance(near, doc)
        if distance <= near.radius_km:
            keyed.append((distance, doc["_id"]))
    keyed.sort()
    start = 0 if values is None else bisect.bisect_right(keyed, (float(values[0]), values[1]))
    window = keyed[start : start + limit]
    by_id = await find_by_ids(db.listings, [oid for _, oid in window], point_lookups)
    # a listing taken down between the two reads is left out of this page
    live = {oid: doc for oid, doc in by_id.items() if doc["live"]}
    items = [{**live[oid], "distance_km": d} for d, oid in window if oid in live]
    return Page(items=items, has_next=start + limit < len(keyed), total_count=len(keyed))


class Capabilities(NamedTuple):
    """What the database offers a search, found once at start-up (`detect_capabilities`)."""

    # a 2dsphere index on listings.geo (MongoDB): `near` becomes $geoWithin
    geo_native: bool = False
    # only {_id: x} is served by an index (FerretDB v1, whose SQLite backend scans for any
    # other filter): a page's documents are then read one by one rather than with one $in
    point_lookups: bool = False


async def detect_capabilities(db: AsyncDatabase[Doc]) -> Capabilities:
    """FerretDB has no geo operators and serves only `_id` look-ups from an index. On a
    MongoDB, `near` uses $geoWithin once an operator has created a 2dsphere index on
    `listings.geo` (`db.listings.createIndex({geo: "2dsphere"})`); the box is the default."""
    info = await db.command("buildInfo")
    if "ferretdbVersion" in info:
        return Capabilities(geo_native=False, point_lookups=True)
    async for index in await db.listings.list_indexes():
        if dict(index.get("key", {})).get("geo") == "2dsphere":
            return Capabilities(geo_native=True)
    return Capabilities()
