"""hazards."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.accounts import StatsScope, scope_of
from app.schema.connection import Connection
from app.schema.hazards import Hazard, HazardStatus
from app.schema.permissions import allow
from app.services import hazards
from app.viewer import Role


@strawberry.type
class HazardQueries:
    @strawberry.field(
        description="RESPONDER and POLICE (their scope, or a part of it: FORBIDDEN outside), "
        "LANDLORD (their properties; no scope: a dashboard's open hazards per property with "
        "propertyId). Most urgent (earliest deadline) first. overdueOnly: past their deadline "
        "and not rectified.",
        permission_classes=[allow(Role.RESPONDER, Role.POLICE, Role.LANDLORD)],
    )
    async def hazards(
        self,
        info: Info,
        scope: StatsScope | None = None,
        property_id: strawberry.ID | None = None,
        status: HazardStatus | None = None,
        overdue_only: bool | None = False,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Hazard]:
        ctx = info.context
        page = await hazards.hazards(
            ctx.deps,
            ctx.viewer,
            scope=scope_of(scope),
            property_id=decode_id(property_id, "Property", ["propertyId"]) if property_id else None,
            status=status.name if status else None,
            overdue_only=bool(overdue_only),
            first=first,
            after=after,
        )
        return Connection.of(page, Hazard.from_doc)
