"""populationStats (POLICE, RESPONDER) and auditLog (ADMIN)."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.pagination import paginate
from app.schema.accounts import StatsScope
from app.schema.permissions import allow
from app.schema.police import (
    AuditEntryConnection,
    PopulationStats,
    ResidentConnection,
    ResidentFilter,
)
from app.services import audit, register, stats
from app.viewer import Role, Scope

AUDIT_ORDER = [("at", -1), ("_id", -1)]


@strawberry.type
class PoliceQueries:
    @strawberry.field(
        description="POLICE and RESPONDER: counts for a town, community or grid (all when "
        "scope is empty).",
        permission_classes=[allow(Role.POLICE, Role.RESPONDER)],
    )
    async def population_stats(
        self, info: Info, scope: StatsScope | None = None
    ) -> PopulationStats:
        ctx = info.context
        asked = (
            Scope(town=scope.town, community=scope.community, grid=scope.grid) if scope else None
        )
        effective = stats.effective_scope(ctx.viewer, asked)
        totals = await stats.population_stats(ctx.db, effective)
        if ctx.viewer.role is Role.POLICE:
            await audit.record(
                ctx.db,
                ctx.viewer.account_id,
                "police.populationStats",
                target="scope:" + "/".join(effective.as_claim().values()),
                details={"scope": effective.as_claim()},
            )
        return PopulationStats.from_totals(totals)

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
    ) -> ResidentConnection:
        ctx = info.context
        page = await register.search(
            ctx.db, ctx.settings, ctx.viewer, filter.to_query(), reason, first=first, after=after
        )
        return ResidentConnection.from_page(
            page, register.ORDER, lambda d: register.full_id_number(d, ctx.settings)
        )

    @strawberry.field(
        description="ADMIN: who did what, including every police query and every remote door "
        "opening.",
        permission_classes=[allow(Role.ADMIN)],
    )
    async def audit_log(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> AuditEntryConnection:
        page = await paginate(
            info.context.db.audit_log, {}, AUDIT_ORDER, first=first, after=after, default_first=50
        )
        return AuditEntryConnection.from_page(page, AUDIT_ORDER)
