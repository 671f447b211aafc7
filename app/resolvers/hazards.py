"""hazards."""

from __future__ import annotations

from typing import Annotated

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
        scope: Annotated[
            StatsScope | None,
            strawberry.argument(description="A town, community or grid within the caller's."),
        ] = None,
        property_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="One property's only.")
        ] = None,
        status: Annotated[
            HazardStatus | None, strawberry.argument(description="Of this status only.")
        ] = None,
        overdue_only: Annotated[
            bool | None,
            strawberry.argument(description="Only those past their deadline, not rectified."),
        ] = False,
        first: Annotated[int | None, strawberry.argument(description="Page size.")] = 20,
        after: Annotated[str | None, strawberry.argument(description="A cursor.")] = None,
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
