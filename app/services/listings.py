"""Listings: published vacancies. The public search over them is in listing_search.py.

A listing copies the public fields of its room, property and landlord (title, rent, area,
floor, amenities, photos, address, place, location, landlord name, contact phone), so a
search reads one collection and never joins; a live listing follows its room's changes
(`follow_room`). One live listing per room: a rule of the store
(`UniqueWhile("one_live_per_room")`), kept by the insert that publishes it. Every change of a
live listing holds its exclusive section, so that on FerretDB v1 (whose updates rewrite the
whole document) taking it down and changing it never undo each other.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import unicodedata

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now, today
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services.rooms import MAX_DESCRIPTION, check_rent, owned_room
from app.store import Doc, Store
from app.validation import check_phone, clean_text
from app.viewer import Role, Viewer

MAX_TITLE = 100
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
        "floor": room["floor"],
        "amenities": list(room.get("amenities") or []),
        "photos": list(room.get("photos") or []),
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
    clean_description = _check_description(errors, description)
    rent = room["monthly_rent_fen"] if monthly_rent_fen is None else monthly_rent_fen
    check_rent(errors, ["monthlyRentFen"], rent)
    _check_available(errors, available_from)
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
    # and the room's photos or amenities may have changed meanwhile
    return await follow_room(store, room["_id"]) or doc


def _guard(listing_id: ObjectId) -> str:
    return f"listing:{listing_id}"


async def _take_down(store: Store, listing: Doc) -> Doc:
    changes = {"live": False, "unpublished_at": now()}
    async with store.exclusive(_guard(listing["_id"])):
        await store.listings.update_one({"_id": listing["_id"], "live": True}, {"$set": changes})
    return {**listing, **changes}


async def follow_room(store: Store, room_id: ObjectId, *, rent: bool = False) -> Doc | None:
    """Copies the room's public fields (and its rent, with `rent`) into its live listing;
    the listing as it is now, or None without one. The room is read inside the listing's
    section, so of two changes following each other the listing ends with the later."""
    listing = await store.listings.find_one({"room_id": room_id, "live": True}, {"_id": 1})
    if listing is None:
        return None
    async with store.exclusive(_guard(listing["_id"])):
        room = await store.rooms.find_one({"_id": room_id})
        if room is None:
            return None
        changes: Doc = {
            "area_sqm": room["area_sqm"],
            "floor": room["floor"],
            "amenities": list(room.get("amenities") or []),
            "photos": list(room.get("photos") or []),
        }
        if rent:
            changes["monthly_rent_fen"] = room["monthly_rent_fen"]
        return await store.listings.find_one_and_update(
            {"_id": listing["_id"], "live": True},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )


async def update_listing(
    deps: Deps,
    viewer: Viewer,
    listing_id: ObjectId,
    *,
    title: str | None = None,
    description: str | None = None,
    monthly_rent_fen: int | None = None,
    available_from: dt.date | None = None,
    contact_phone: str | None = None,
) -> Doc:
    """Changes the caller's live listing (what is given); LISTING_UNPUBLISHED once down."""
    landlord_id = viewer.require(Role.LANDLORD)
    store = deps.store
    listing = await store.find_by_id("listings", listing_id, landlord_id=landlord_id)
    if listing is None:
        raise NotFoundError("Listing", field=["listingId"])
    errors = Collector()
    changes: Doc = {}
    if title is not None:
        changes["title"] = clean_text(errors, ["title"], title, max_len=MAX_TITLE)
    if description is not None:
        changes["description"] = _check_description(errors, description)
    if monthly_rent_fen is not None:
        changes["monthly_rent_fen"] = check_rent(errors, ["monthlyRentFen"], monthly_rent_fen)
    if available_from is not None:
        _check_available(errors, available_from)
        changes["available_from"] = available_from.isoformat()
    if contact_phone is not None:
        changes["contact_phone"] = check_phone(errors, ["contactPhone"], contact_phone)
    errors.raise_if_any()
    if not listing["live"]:
        raise UserInputError(
            "This listing has been taken down.",
            code=Code.LISTING_UNPUBLISHED,
            field=["listingId"],
        )
    if not changes:
        return listing
    if "title" in changes or "description" in changes:
        title_now = changes.get("title", listing["title"])
        description_now = changes.get("description", listing["description"])
        changes["search_text"] = normalize_text(f"{title_now} {description_now}")
    changes["updated_at"] = now()
    async with store.exclusive(_guard(listing_id)):
        updated = await store.listings.find_one_and_update(
            {"_id": listing_id, "live": True},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
    if updated is None:
        raise UserInputError(
            "This listing has been taken down.",
            code=Code.LISTING_UNPUBLISHED,
            field=["listingId"],
        )
    return updated


def _check_description(errors: Collector, description: str) -> str:
    return clean_text(
        errors,
        ["description"],
        description,
        max_len=MAX_DESCRIPTION,
        multiline=True,
        required=False,
    )


def _check_available(errors: Collector, available_from: dt.date) -> None:
    day = today()
    if not day - AVAILABLE_WINDOW <= available_from <= day + AVAILABLE_WINDOW:
        errors.add(["availableFrom"], Code.OUT_OF_RANGE, "Must be within a year of today.")


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
