"""The public search over live listings: anonymous (the kiosk), tenants, everyone.

Every query has `live: true`, equality on town and community, "has all of these" on
amenities, ranges on rent, area, available date and the location box, and one of a few sorts;
each is served by an index declared in app/store/indexes.py. Text is an escaped regular
expression (FerretDB has no $text), on a normalised copy of title and description
(`search_text`: NFKC, case-folded, one space between words) and, case-insensitively, on the
address (which the properties domain updates in place). `near` is a bounding box on
`location.lat`/`location.lng` and then the exact great-circle distance in Python; where the
engine has a 2dsphere index on `geo` the box becomes `$geoWithin`. Pages are keyset pages:
the cursor is the sort key of the last row.

What one search may cost is bounded: `near` by ANJU_NEAR_MAX_RADIUS_KM (10 km in production:
a district, not a city, so the candidates read are bounded too), the total by ANJU_COUNT_CAP
(the count stops there and says so), and an anonymous client (the kiosk, a scraper) by
ANJU_ANONYMOUS_SEARCHES_PER_MINUTE per address.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from app.deps import Deps
from app.errors import Code, Collector, RateLimitedError, UserInputError
from app.geo import EARTH_RADIUS_KM, bounding_box, haversine_km
from app.services.listings import normalize_text
from app.services.rooms import MAX_AREA_SQM, MAX_RENT_FEN, check_amenities
from app.store import Doc, Page, SortSpec, Store, check_first, count_up_to
from app.store.paging import after_filter, decode_cursor
from app.validation import check_float, check_int, clean_text
from app.viewer import Viewer

MAX_TEXT_QUERY = 64
MAX_PLACE_NAME = 64
MAX_RADIUS_KM = 50.0  # the most ANJU_NEAR_MAX_RADIUS_KM may allow

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
    amenities: tuple[str, ...] = ()


def clean_query(
    query: ListingQuery, sort: str, max_radius_km: float = MAX_RADIUS_KM
) -> ListingQuery:
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
        check_float(errors, radius, near.radius_km, low=0, high=max_radius_km, code=bad)
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
        amenities=tuple(check_amenities(errors, [*at, "amenities"], query.amenities)),
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
    if query.amenities:
        base["amenities"] = {"$all": list(query.amenities)}
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
    deps: Deps,
    query: ListingQuery,
    sort: str = "NEWEST",
    *,
    first: int | None = 20,
    after: str | None = None,
    viewer: Viewer | None = None,
    client: str = "-",
) -> Page:
    """One page of live listings matching `query`, in `sort` order, with the total count
    (up to the store's cap). With `near`, each document carries `distance_km`. An anonymous
    `viewer` is counted against its `client` address: RATE_LIMITED past the minute's limit."""
    store, settings = deps.store, deps.settings
    if viewer is None or not viewer.signed_in:
        allowed = deps.local_limits.hit(
            f"search:{client}", limit=settings.anonymous_searches_per_minute, window_s=60
        )
        if not allowed:
            raise RateLimitedError("Too many searches from this address; try again in a minute.")
    query = clean_query(query, sort, min(float(settings.near_max_radius_km), MAX_RADIUS_KM))
    limit = check_first(first)
    spec = SORTS[sort]
    cursor_values = decode_cursor(after, len(spec)) if after else None
    if cursor_values is not None:
        _check_cursor(spec, cursor_values)
    where = search_filter(query, geo_native=store.engine.geo_index)
    if query.near is None:
        page = await _plain_page(store, where, spec, limit, cursor_values)
    elif sort == "DISTANCE":
        page = await _distance_page(store, where, query.near, limit, cursor_values)
    else:
        page = await _near_page(store, where, query.near, spec, limit, cursor_values)
    page.has_previous = cursor_values is not None
    return page


def _with_after(where: dict[str, Any], spec: SortSpec, values: list[Any] | None) -> dict[str, Any]:
    return {"$and": [where, after_filter(spec, values)]} if values is not None else where


async def _plain_page(
    store: Store,
    where: dict[str, Any],
    spec: SortSpec,
    limit: int,
    values: list[Any] | None,
) -> Page:
    async def rows() -> list[Doc]:
        if not limit:
            return []
        found = store.listings.find(
            _with_after(where, spec, values), sort=list(spec), limit=limit + 1
        )
        return await found.to_list(None)

    items, counted = await asyncio.gather(
        rows(), count_up_to(store.listings, where, store.count_cap)
    )
    return _page(items, limit, spec, counted)


def _page(items: list[Doc], limit: int, spec: SortSpec, counted: tuple[int, bool]) -> Page:
    """A page of the first `limit` of `items` (one more was read: is there a next page?),
    with the total as counted (up to the cap, and whether it was reached)."""
    return Page(
        items=items[:limit],
        has_next=len(items) > limit,
        sort=spec,
        total_count=counted[0],
        total_capped=counted[1],
    )


async def _count_within(store: Store, where: dict[str, Any], near: Near) -> tuple[int, bool]:
    """How many candidates lie within the circle, up to the store's cap (then True)."""
    count = 0
    found = store.listings.find(where, {"location": 1})
    async for doc in found:
        if _distance(near, doc) <= near.radius_km:
            count += 1
            if count > store.count_cap:
                await found.close()
                return store.count_cap, True
    return count, False


async def _near_page(
    store: Store,
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
        found = store.listings.find(_with_after(where, spec, values), sort=list(spec))
        async for doc in found:
            distance = _distance(near, doc)
            if distance <= near.radius_km:
                kept.append({**doc, "distance_km": distance})
                if len(kept) > limit:
                    break
        await found.close()
        return kept

    items, counted = await asyncio.gather(rows(), _count_within(store, where, near))
    return _page(items, limit, spec, counted)


async def _distance_page(
    store: Store,
    where: dict[str, Any],
    near: Near,
    limit: int,
    values: list[Any] | None,
) -> Page:
    """A page by distance: the distances of every candidate in the box (only their
    locations are read), sorted, then the page's documents by id."""
    keyed: list[tuple[float, ObjectId]] = []
    async for doc in store.listings.find(where, {"location": 1}):
        distance = _distance(near, doc)
        if distance <= near.radius_km:
            keyed.append((distance, doc["_id"]))
    keyed.sort()
    start = 0 if values is None else bisect.bisect_right(keyed, (float(values[0]), values[1]))
    window = keyed[start : start + limit]
    by_id = await store.find_by_ids("listings", [oid for _, oid in window])
    # a listing taken down between the two reads is left out of this page
    live = {oid: doc for oid, doc in by_id.items() if doc["live"]}
    items = [{**live[oid], "distance_km": d} for d, oid in window if oid in live]
    return Page(
        items=items,
        has_next=start + limit < len(keyed),
        sort=SORTS["DISTANCE"],
        total_count=min(len(keyed), store.count_cap),
        total_capped=len(keyed) > store.count_cap,
    )
