"""accessEvents."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.schema.access_events import AccessEvent, AccessEventFilter
from app.schema.connection import UncountedConnection
from app.schema.permissions import allow
from app.services import access_events
from app.viewer import Role


@strawberry.type
class AccessEventQueries:
    @strawberry.field(
        description="POLICE (any door, reason required) and LANDLORD (own doors).",
        permission_classes=[allow(Role.LANDLORD, Role.POLICE)],
    )
    async def access_events(
        self,
        info: Info,
        filter: AccessEventFilter,
        reason: str | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> UncountedConnection[AccessEvent]:
        page = await access_events.events(
            info.context.deps,
            info.context.viewer,
            filter.to_query(),
            reason,
            first=first,
            after=after,
        )
        return UncountedConnection.of(page, AccessEvent.from_doc)
