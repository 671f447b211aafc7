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
from app.services import listing_search, listings
from app.store import Doc


@strawberry.type(
    description="A published vacancy. Everything on it is public, for the apps and the kiosk."
)
class Listing(Node):
    doc: strawberry.Private[Doc]
    title: str
    description: str
    monthly_rent_fen: int
    area_sqm: float
    floor: int = strawberry.field(description="The room's floor.")
    amenities: list[Amenity] = strawberry.field(description="The room's, in the enum's order.")
    address: str
    place: Place
    location: GeoPoint
    available_from: dt.date
    landlord_name: str
    contact_phone: str
    published_at: dt.datetime
    distance_km: float | None = strawberry.field(description="Set when the search had `near`.")
    live: bool = strawberry.field(
        description="False once unpublished (by the landlord, or when a lease starts); then "
        "only the owning landlord still sees it."
    )
    unpublished_at: dt.datetime | None

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


@strawberry.input
class NearInput:
    lat: float
    lng: float
    radius_km: float = strawberry.field(
        description="Kilometres, above 0 and at most ANJU_NEAR_MAX_RADIUS_KM (10 in production, "
        f"never above {listing_search.MAX_RADIUS_KM:g}): OUT_OF_RANGE otherwise."
    )


@strawberry.input
class ListingFilter:
    text: str | None = strawberry.field(
        default=None,
        description="Matches title, description and address (case-insensitive, any script).",
    )
    town: str | None = None
    community: str | None = None
    min_rent_fen: int | None = None
    max_rent_fen: int | None = None
    min_area_sqm: float | None = None
    max_area_sqm: float | None = None
    near: NearInput | None = None
    available_by: dt.date | None = strawberry.field(
        default=None, description="Listings available on or before this date."
    )
    amenities: list[Amenity] | None = strawberry.field(
        default=None, description="Listings that have all of these."
    )

    def to_query(self) -> listing_search.ListingQuery:
        return listing_search.ListingQuery(
            text=self.text,
            town=self.town,
            community=self.community,
            min_rent_fen=self.min_rent_fen,
            max_rent_fen=self.max_rent_fen,
            min_area_sqm=self.min_area_sqm,
            max_area_sqm=self.max_area_sqm,
            near=(
                listing_search.Near(self.near.lat, self.near.lng, self.near.radius_km)
                if self.near
                else None
            ),
            available_by=self.available_by,
            amenities=tuple(a.value for a in self.amenities or ()),
        )


@strawberry.enum
class ListingSort(enum.Enum):
    NEWEST = "NEWEST"
    RENT_ASC = "RENT_ASC"
    RENT_DESC = "RENT_DESC"
    AREA_DESC = "AREA_DESC"
    DISTANCE = strawberry.enum_value("DISTANCE", description="Nearest first; needs `near`.")


@strawberry.input
class PublishListingInput:
    room_id: strawberry.ID
    title: str
    description: str
    available_from: dt.date
    monthly_rent_fen: int | None = strawberry.field(
        default=None, description="Defaults to the room's rent."
    )
    contact_phone: str | None = strawberry.field(
        default=None, description="Defaults to the landlord's phone."
    )


@strawberry.input(description="What to change on a live listing; fields left out stay.")
class UpdateListingInput:
    listing_id: strawberry.ID
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


@strawberry.input
class UnpublishListingInput:
    listing_id: strawberry.ID


@strawberry.type
class ListingPayload:
    listing: Listing | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@register_node("Listing")
async def _listing_node(info: Info, oid: Any) -> Listing | None:
    doc = await info.context.loaders.by_id("listings").load(oid)
    return Listing.from_doc(doc) if doc and listings.can_see(info.context.viewer, doc) else None
