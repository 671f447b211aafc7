"""Listings: published vacancies. The public search over them is in listing_search.py.

A listing copies the public fields of its room, property and landlord (title, rent, area,
address, place, location, landlord name, contact phone), so a search reads one collection
and never joins. One live listing per room: a rule of the store
(`UniqueWhile("one_live_per_room")`), kept by the insert that publishes it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import unicodedata

from bson import ObjectId

from app.clock import now, today
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services.rooms import check_rent, owned_room
from app.store import Doc, Store
from app.validation import check_phone, clean_text
from app.viewer import Role, Viewer

MAX_TITLE = 100
MAX_DESCRIPTION = 2000
# availableFrom may lie a year either side of today: earlier means "available now", and
# nobody advertises a room more than a year ahead.
AVAILABLE_WINDOW = dt.timedelta(days=366)

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
    deps: Deps,
    viewer: Viewer,
    room_id: ObjectId,
    *,
    title: str,
    description: str,
    available_from: dt.date,
    monthly_rent_fen: int | None = None,
    contact_phone: str | None = None,
) -> Doc:
    store = deps.store
    room = await owned_room(store, viewer, room_id)
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
        store.properties.find_one({"_id": room["property_id"]}),
        store.accounts.find_one({"_id": room["landlord_id"]}),
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
    published = UserInputError(
        "This room already has a live listing.", code=Code.ALREADY_PUBLISHED, field=["roomId"]
    )
    await store.insert_unique("listings", doc, published)
    # A lease may have started between the check above and the insert. Leases set the room
    # OCCUPIED and then call unpublish_for_room; whichever of us comes second undoes the
    # listing, so a live listing never outlives its vacancy.
    current = await store.rooms.find_one({"_id": room["_id"]}, {"status": 1})
    if current is None or current["status"] != "VACANT":
        await _take_down(store, doc)
        raise UserInputError(
            "Only a vacant room can be published.", code=Code.ROOM_NOT_VACANT, field=["roomId"]
        )
    return doc


async def _take_down(store: Store, listing: Doc) -> Doc:
    changes = {"live": False, "unpublished_at": now()}
    await store.listings.update_one({"_id": listing["_id"], "live": True}, {"$set": changes})
    return {**listing, **changes}


async def unpublish_listing(deps: Deps, viewer: Viewer, listing_id: ObjectId) -> Doc:
    """Takes the caller's listing down. Idempotent: an unpublished listing comes back as is."""
    landlord_id = viewer.require(Role.LANDLORD)
    doc = await deps.store.find_by_id("listings", listing_id, landlord_id=landlord_id)
    if doc is None:
        raise NotFoundError("Listing", field=["listingId"])
    if not doc["live"]:
        return doc
    return await _take_down(deps.store, doc)


async def unpublish_for_room(store: Store, room_id: ObjectId) -> None:
    """Takes down the room's live listing, if any (a lease starting calls this after it has
    set the room OCCUPIED)."""
    doc = await store.listings.find_one({"room_id": room_id, "live": True})
    if doc is not None:
        await _take_down(store, doc)
