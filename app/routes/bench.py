"""The benchmark's baseline: the listing search served by a bare Starlette route that calls
the same service function as the GraphQL `listings` field and returns JSON. Comparing the two
throughputs gives the cost of the GraphQL layer. Mounted only when ANJU_BENCH_ROUTES is on
(never in production)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.errors import UserInputError
from app.ids import encode_id
from app.services import listing_query, listing_search
from app.state import AppState


def _query(params: dict[str, Any]) -> listing_query.ListingQuery:
    def num(name: str) -> int | None:
        return int(params[name]) if params.get(name) else None

    near = None
    if params.get("lat"):
        near = listing_query.Near(
            float(params["lat"]), float(params["lng"]), float(params["radiusKm"])
        )
    return listing_query.ListingQuery(
        text=params.get("text"),
        town=params.get("town"),
        community=params.get("community"),
        min_rent_fen=num("minRentFen"),
        max_rent_fen=num("maxRentFen"),
        near=near,
    )


async def bare_listings(request: Request) -> Response:
    state: AppState = request.app.state.anju
    params = dict(request.query_params)
    try:
        page = await listing_search.search(
            state.deps,
            _query(params),
            params.get("sort", "NEWEST"),
            first=int(params.get("first", "20")),
            after=params.get("after"),
        )
    except (UserInputError, ValueError, KeyError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    items = [
        {
            "id": encode_id("Listing", d["_id"]),
            "title": d["title"],
            "monthlyRentFen": d["monthly_rent_fen"],
            "areaSqm": d["area_sqm"],
            "address": d["address"],
            "distanceKm": d.get("distance_km"),
            "cursor": page.cursor(d),
        }
        for d in page.items
    ]
    return JSONResponse(
        {"totalCount": page.total_count, "hasNextPage": page.has_next, "items": items}
    )
