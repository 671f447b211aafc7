"""residents (the police register)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.context import Info
from app.schema.connection import After, Connection, First
from app.schema.permissions import allow
from app.schema.residents import CoResident, Resident, ResidentFilter
from app.services import residents
from app.store import Doc
from app.viewer import Role


@strawberry.type
class ResidentQueries:
    @strawberry.field(
        description="POLICE: the real-name register. `reason` (a case or task reference) is "
        "recorded in the audit log with the filter and the residents returned. One reason reads "
        "at most ANJU_POLICE_RESULTS_PER_REASON residents (NEW_REASON_REQUIRED after); codes "
        "REASON_REQUIRED, REQUIRED (no filter), TOO_SHORT (a name under two letters), "
        "INVALID_ID_NUMBER, INVALID_PHONE, INVALID_CURSOR.",
        permission_classes=[allow(Role.POLICE)],
    )
    async def residents(
        self,
        info: Info,
        filter: Annotated[
            ResidentFilter,
            strawberry.argument(description="Whom to look for; at least one field (REQUIRED)."),
        ],
        reason: Annotated[
            str,
            strawberry.argument(
                description="Why: a case or task reference, 1-200 characters, kept in the audit "
                "log (REASON_REQUIRED, TOO_LONG)."
            ),
        ],
        first: First = 20,
        after: After = None,
    ) -> Connection[Resident]:
        ctx = info.context
        found = await residents.search(
            ctx.deps, ctx.viewer, filter.to_query(), reason, first=first, after=after
        )
        settings = ctx.settings

        def resident(doc: Doc) -> Resident:
            others = [
                CoResident.from_doc(o, residents.full_id_number(o, settings))
                for o in found.co_residents.get(doc["_id"], [])
            ]
            return Resident.from_doc(doc, residents.full_id_number(doc, settings), others)

        return Connection.of(found.page, resident)
