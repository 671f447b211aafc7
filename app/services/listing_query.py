"""A listing search's query: the filters a caller gives, checked (`clean_query`), and the
database filter they make (`search_filter`), each condition on a field an index declared in
app/store/indexes.py serves. The search itself (pages, counts, distance) is listing_search.py.

Text is an escaped regular expression (FerretDB has no $text), on a normalised copy of title
and description (`search_text`: NFKC, case-folded, one space between words) and,
case-insensitively, on the address. `near` is a bounding box on `location.lat`/`location.lng`
(the exact great-circle distance is checked after, in Python); where the engine has a 2dsphere
index on `geo` the box becomes `$geoWithin`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from app.errors import Code, Collector
from app.geo import EARTH_RADIUS_KM, bounding_box
from app.services.listings import normalize_text
from app.services.rooms import MAX_AREA_SQM, MAX_RENT_FEN, check_amenities
from app.validation import check_float, check_int, clean_text

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
