"""Listings (published vacancies) and their search: types, inputs and payloads."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.node import register_node
from app.schema.photos import Photo
from app.schema.properties import GeoPoint, Place
from app.schema.rooms import Amenity, Room, amenities_of
from app.services import listing_query, listings
from app.store import Doc


@strawberry.type(
    description="A published vacancy. Everything on it is public, for the apps and the kiosk."
)
class Listing(Node):
    doc: strawberry.Private[Doc]
    title: str = strawberry.field(description="The landlord's headline, at most 100 characters.")
    description: str = strawberry.field(
        description="The landlord's words on the room, at most 2000 characters."
    )
    monthly_rent_fen: int = strawberry.field(
        description="Asking rent in fen a month (1 yuan = 100 fen)."
    )
    area_sqm: float = strawberry.field(description="The room's floor area in square metres.")
    floor: int = strawberry.field(description="The room's floor.")
    amenities: list[Amenity] = strawberry.field(description="The room's, in the enum's order.")
    address: str = strawberry.field(description="The property's street address.")
    place: Place = strawberry.field(description="The property's town, community and grid.")
    location: GeoPoint = strawberry.field(description="Where the property is on the map.")
    available_from: dt.date = strawberry.field(description="The first day a tenant may move in.")
    landlord_name: str = strawberry.field(description="The landlord's name as shown to seekers.")
    contact_phone: str = strawberry.field(
        description="The phone seekers call: the landlord's own unless they gave another; public."
    )
    published_at: dt.datetime = strawberry.field(description="When it was published (UTC).")
    distance_km: float | None = strawberry.field(description="Set when the search had `near`.")
    live: bool = strawberry.field(
        description="False once unpublished (by the landlord, or when a lease starts); then "
        "only the owning landlord still sees it."
    )
    unpublished_at: dt.datetime | None = strawberry.field(
        description="When it was taken down (UTC); null while live."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> Listing:
        distance = doc.get("distance_km")
        return cls(
            id=strawberry.ID(encode_id("Listing", doc["_id"])),
            doc=doc,
            title=doc["title"],
            description=doc["description"],
            monthly_rent_fen=doc["monthly_rent_fen"],
            area_sqm=doc["area_sqm"],
            floor=doc.get("floor", 0),  # listings published before floors were copied
            amenities=amenities_of(doc),
            address=doc["address"],
            place=Place.from_doc(doc["place"]),
            location=GeoPoint(lat=doc["location"]["lat"], lng=doc["location"]["lng"]),
            available_from=dt.date.fromisoformat(doc["available_from"]),
            landlord_name=doc["landlord_name"],
            contact_phone=doc["contact_phone"],
            published_at=doc["published_at"],
            distance_km=round(distance, 3) if distance is not None else None,
            live=doc["live"],
            unpublished_at=doc.get("unpublished_at"),
        )

    @strawberry.field(
        description="The room's photos, in its landlord's order (the first for cards): "
        "public, like everything on a listing."
    )
    def photos(self) -> list[Photo]:
        return Photo.all(self.doc.get("photos"))

    @strawberry.field(description="Only the owning landlord sees the room; others get null.")
    async def room(self, info: Info) -> Room | None:
        if not listings.owns(info.context.viewer, self.doc):
            return None
        doc = await info.context.loaders.room_by_id.load(self.doc["room_id"])
        return Room.from_doc(doc) if doc else None


@strawberry.input(description="A circle around a point (WGS-84) to search in.")
class NearInput:
    lat: float = strawberry.field(description="Latitude of the centre, -90 to 90 (OUT_OF_RANGE).")
    lng: float = strawberry.field(
        description="Longitude of the centre, -180 to 180 (OUT_OF_RANGE)."
    )
    radius_km: float = strawberry.field(
        description="Kilometres, above 0 and at most ANJU_NEAR_MAX_RADIUS_KM (10 in production, "
        f"never above {listing_query.MAX_RADIUS_KM:g}): OUT_OF_RANGE otherwise."
    )


@strawberry.input(
    description="What to search for; every field given must match. A value out of range is "
    "the GraphQL error OUT_OF_RANGE, a minimum above its maximum INVALID_RANGE.",
)
class ListingFilter:
    text: str | None = strawberry.field(
        default=None,
        description="Matches title, description and address (case-insensitive, any script).",
    )
    town: str | None = strawberry.field(
        default=None,
        description="Only in this town (镇街), exactly as written; at most 64 characters.",
    )
    community: str | None = strawberry.field(
        default=None, description="Only in this community (村居); at most 64 characters."
    )
    min_rent_fen: int | None = strawberry.field(
        default=None, description="Rent at least this, in fen a month (1 to 100,000,000)."
    )
    max_rent_fen: int | None = strawberry.field(
        default=None, description="Rent at most this, in fen a month (1 to 100,000,000)."
    )
    min_area_sqm: float | None = strawberry.field(
        default=None, description="Area at least this, in square metres (1 to 10,000)."
    )
    max_area_sqm: float | None = strawberry.field(
        default=None, description="Area at most this, in square metres (1 to 10,000)."
    )
    near: NearInput | None = strawberry.field(
        default=None,
        description="Only within this circle; needed by sort DISTANCE (NEAR_REQUIRED).",
    )
    available_by: dt.date | None = strawberry.field(
        default=None, description="Listings available on or before this date."
    )
    amenities: list[Amenity] | None = strawberry.field(
        default=None, description="Listings that have all of these."
    )

    def to_query(self) -> listing_query.ListingQuery:
        return listing_query.ListingQuery(
            text=self.text,
            town=self.town,
            community=self.community,
            min_rent_fen=self.min_rent_fen,
            max_rent_fen=self.max_rent_fen,
            min_area_sqm=self.min_area_sqm,
            max_area_sqm=self.max_area_sqm,
            near=(
                listing_query.Near(self.near.lat, self.near.lng, self.near.radius_km)
                if self.near
                else None
            ),
            available_by=self.available_by,
            amenities=tuple(a.value for a in self.amenities or ()),
        )


@strawberry.enum(description="The order of search results.")
class ListingSort(enum.Enum):
    _value_: str

    NEWEST = strawberry.enum_value(
        "NEWEST", description="Most recently published first (the default)."
    )
    RENT_ASC = strawberry.enum_value("RENT_ASC", description="Cheapest first.")
    RENT_DESC = strawberry.enum_value("RENT_DESC", description="Dearest first.")
    AREA_DESC = strawberry.enum_value("AREA_DESC", description="Largest first.")
    DISTANCE = strawberry.enum_value("DISTANCE", description="Nearest first; needs `near`.")


@strawberry.input(description="A vacancy to publish for one of the caller's rooms.")
class PublishListingInput:
    room_id: strawberry.ID = strawberry.field(
        description="The caller's VACANT room (INVALID_ID, NOT_FOUND, ROOM_NOT_VACANT, "
        "ALREADY_PUBLISHED, ROOM_ARCHIVED)."
    )
    title: str = strawberry.field(description="A headline, 1-100 characters (REQUIRED, TOO_LONG).")
    description: str = strawberry.field(
        description="The words on the room, 1-2000 characters, several lines allowed (REQUIRED, "
        "TOO_LONG)."
    )
    available_from: dt.date = strawberry.field(
        description="The first day a tenant may move in, within a year of today (OUT_OF_RANGE)."
    )
    monthly_rent_fen: int | None = strawberry.field(
        default=None, description="Defaults to the room's rent."
    )
    contact_phone: str | None = strawberry.field(
        default=None, description="Defaults to the landlord's phone."
    )


@strawberry.input(description="What to change on a live listing; fields left out stay.")
class UpdateListingInput:
    listing_id: strawberry.ID = strawberry.field(
        description="The caller's live listing (INVALID_ID, NOT_FOUND, LISTING_UNPUBLISHED)."
    )
    title: str | None = strawberry.field(default=None, description="At most 100 characters.")
    description: str | None = strawberry.field(default=None, description="At most 2000 characters.")
    monthly_rent_fen: int | None = strawberry.field(
        default=None, description="The advertised rent (the room's own is updateRoom's)."
    )
    available_from: dt.date | None = strawberry.field(
        default=None, description="Within a year of today."
    )
    contact_phone: str | None = strawberry.field(
        default=None, description="A mainland mobile number shown to everyone."
    )


@strawberry.input(description="The listing to take down.")
class UnpublishListingInput:
    listing_id: strawberry.ID = strawberry.field(
        description="The caller's live listing (INVALID_ID, NOT_FOUND, LISTING_UNPUBLISHED)."
    )


@strawberry.type(description="The answer of the listing mutations.")
class ListingPayload:
    listing: Listing | None = strawberry.field(
        default=None, description="The listing as it now is; null when userErrors says why not."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@register_node("Listing")
async def _listing_node(info: Info, oid: Any) -> Listing | None:
    doc = await info.context.loaders.by_id("listings").load(oid)
    return Listing.from_doc(doc) if doc and listings.can_see(info.context.viewer, doc) else None
