"""listings (the public search), publishListing, updateListing, unpublishListing."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.connection import After, Connection, First
from app.schema.listings import (
    Listing,
    ListingFilter,
    ListingPayload,
    ListingSort,
    PublishListingInput,
    UnpublishListingInput,
    UpdateListingInput,
)
from app.schema.permissions import allow
from app.services import listing_query, listing_search, listings
from app.viewer import Role

LANDLORD = [allow(Role.LANDLORD)]


@strawberry.type
class ListingQueries:
    @strawberry.field(
        description="Public vacancy search: anonymous (kiosk), tenants, everyone. Anonymous "
        "callers make at most ANJU_ANONYMOUS_SEARCHES_PER_MINUTE searches a minute per "
        "address (RATE_LIMITED past it); `near` reaches at most ANJU_NEAR_MAX_RADIUS_KM."
    )
    async def listings(
        self,
        info: Info,
        filter: Annotated[
            ListingFilter | None,
            strawberry.argument(description="What to search for; every live listing when omitted."),
        ] = None,
        sort: Annotated[
            ListingSort | None,
            strawberry.argument(description="The order; NEWEST by default."),
        ] = ListingSort.NEWEST,
        first: First = 20,
        after: After = None,
    ) -> Connection[Listing]:
        ctx = info.context
        page = await listing_search.search(
            ctx.deps,
            filter.to_query() if filter else listing_query.ListingQuery(),
            (sort or ListingSort.NEWEST).value,
            first=first,
            after=after,
            viewer=ctx.viewer,
            client=ctx.client,
        )
        return Connection.of(page, Listing.from_doc)


@strawberry.type
class ListingMutations:
    @strawberry.mutation(
        description="LANDLORD: publishes a vacancy for their VACANT room, with the room's rent, "
        "area, amenities and photos; it is unpublished when a lease starts. Codes: "
        "INVALID_ID, NOT_FOUND, ROOM_NOT_VACANT, ALREADY_PUBLISHED, "
        "REQUIRED, TOO_LONG, OUT_OF_RANGE, INVALID_PHONE.",
        permission_classes=LANDLORD,
    )
    async def publish_listing(
        self, info: Info, input: MutationInput[PublishListingInput]
    ) -> ListingPayload:
        ctx = info.context
        doc = await listings.publish_listing(
            ctx.deps,
            ctx.viewer,
            decode_id(input.room_id, "Room", ["roomId"]),
            title=input.title,
            description=input.description,
            available_from=input.available_from,
            monthly_rent_fen=input.monthly_rent_fen,
            contact_phone=input.contact_phone,
        )
        return ListingPayload(listing=Listing.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD: changes their live listing (LISTING_UNPUBLISHED once down).",
        permission_classes=LANDLORD,
    )
    async def update_listing(
        self, info: Info, input: MutationInput[UpdateListingInput]
    ) -> ListingPayload:
        ctx = info.context
        doc = await listings.update_listing(
            ctx.deps,
            ctx.viewer,
            decode_id(input.listing_id, "Listing", ["listingId"]),
            title=input.title,
            description=input.description,
            monthly_rent_fen=input.monthly_rent_fen,
            available_from=input.available_from,
            contact_phone=input.contact_phone,
        )
        return ListingPayload(listing=Listing.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD: takes their live listing down (it stays visible to them, live "
        "false). Codes: INVALID_ID, NOT_FOUND, LISTING_UNPUBLISHED.",
        permission_classes=LANDLORD,
    )
    async def unpublish_listing(
        self, info: Info, input: MutationInput[UnpublishListingInput]
    ) -> ListingPayload:
        ctx = info.context
        doc = await listings.unpublish_listing(
            ctx.deps, ctx.viewer, decode_id(input.listing_id, "Listing", ["listingId"])
        )
        return ListingPayload(listing=Listing.from_doc(doc))
