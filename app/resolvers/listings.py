"""listings (the public search), publishListing, unpublishListing."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.resolvers.common import attempt
from app.schema.listings import (
    Listing,
    ListingConnection,
    ListingFilter,
    ListingPayload,
    ListingSort,
    PublishListingInput,
    UnpublishListingInput,
)
from app.schema.permissions import allow
from app.services import listings as svc
from app.viewer import Role

LANDLORD = [allow(Role.LANDLORD)]


@strawberry.type
class ListingQueries:
    @strawberry.field(description="Public vacancy search: anonymous (kiosk), tenants, everyone.")
    async def listings(
        self,
        info: Info,
        filter: ListingFilter | None = None,
        sort: ListingSort | None = ListingSort.NEWEST,
        first: int | None = 20,
        after: str | None = None,
    ) -> ListingConnection:
        ctx = info.context
        page, spec = await svc.search(
            ctx.db,
            filter.to_query() if filter else svc.ListingQuery(),
            (sort or ListingSort.NEWEST).value,
            first=first,
            after=after,
            geo_native=ctx.state.geo_native,
            point_lookups=ctx.state.point_lookups,
        )
        return ListingConnection.from_page(page, spec)


@strawberry.type
class ListingMutations:
    @strawberry.mutation(permission_classes=LANDLORD)
    async def publish_listing(self, info: Info, input: PublishListingInput) -> ListingPayload:
        ctx = info.context

        async def work() -> ListingPayload:
            doc = await svc.publish_listing(
                ctx.db,
                ctx.viewer,
                decode_id(input.room_id, "Room", ["roomId"]),
                title=input.title,
                description=input.description,
                available_from=input.available_from,
                monthly_rent_fen=input.monthly_rent_fen,
                contact_phone=input.contact_phone,
            )
            return ListingPayload(listing=Listing.from_doc(doc))

        return await attempt(ListingPayload, work)

    @strawberry.mutation(permission_classes=LANDLORD)
    async def unpublish_listing(self, info: Info, input: UnpublishListingInput) -> ListingPayload:
        ctx = info.context

        async def work() -> ListingPayload:
            doc = await svc.unpublish_listing(
                ctx.db, ctx.viewer, decode_id(input.listing_id, "Listing", ["listingId"])
            )
            return ListingPayload(listing=Listing.from_doc(doc))

        return await attempt(ListingPayload, work)
