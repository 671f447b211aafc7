"""The public search over live listings: anonymous (the kiosk), tenants, everyone.

Every query has `live: true`, equality on town and community, "has all of these" on
amenities, ranges on rent, area, available date and the location box, and one of a few sorts;
each is served by an index declared in app/store/indexes.py (the query and its filter:
listing_query.py). `near` reads a box, then keeps and orders by the exact great-circle
distance here. Pages are keyset pages: the cursor is the sort key of the last row.

What one search may cost is bounded: `near` by ANJU_NEAR_MAX_RADIUS_KM (10 km in production:
a district, not a city, so the candidates read are bounded too), the total by ANJU_COUNT_CAP
(the count stops there and says so), and an anonymous client (the kiosk, a scraper) by
ANJU_ANONYMOUS_SEARCHES_PER_MINUTE per address.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
from typing import Any

from bson import ObjectId

from app.deps import Deps
from app.errors import Code, RateLimitedError, UserInputError
from app.geo import haversine_km
from app.services.listing_query import (
    MAX_RADIUS_KM,
    SORTS,
    ListingQuery,
    Near,
    clean_query,
    search_filter,
)
from app.store import Doc, Page, SortSpec, Store, check_first, count_up_to
from app.store.paging import after_filter, decode_cursor
from app.viewer import Viewer

_CURSOR_TYPES: dict[str, tuple[type, ...]] = {
    "published_at": (dt.datetime,),
    "monthly_rent_fen": (int,),
    "area_sqm": (int, float),
    "distance_km": (int, float),
    "_id": (ObjectId,),
}


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
