"""residents (the police register)."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.schema.connection import Connection
from app.schema.permissions import allow
from app.schema.residents import Resident, ResidentFilter
from app.services import residents
from app.viewer import Role


@strawberry.type
class ResidentQueries:
    @strawberry.field(
        description="POLICE: the real-name register. `reason` (a case or task reference) is "
        "recorded in the audit log.",
        permission_classes=[allow(Role.POLICE)],
    )
    async def residents(
        self,
        info: Info,
        filter: ResidentFilter,
        reason: str,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Resident]:
        ctx = info.context
        page = await residents.search(
            ctx.deps, ctx.viewer, filter.to_query(), reason, first=first, after=after
        )
        settings = ctx.settings
        return Connection.of(
            page, lambda d: Resident.from_doc(d, residents.full_id_number(d, settings))
        )
