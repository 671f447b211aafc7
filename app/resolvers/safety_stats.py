"""safetyStats, hazardsExport."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from app.context import Info
from app.schema.accounts import StatsScope, scope_of
from app.schema.hazards import HazardStatus
from app.schema.permissions import allow
from app.schema.safety_stats import Export, SafetyStats
from app.services import hazard_exports, safety_stats
from app.viewer import Role


@strawberry.type
class SafetyStatsQueries:
    @strawberry.field(
        description="RESPONDER and POLICE: fire-safety figures of a town, community or grid "
        "within their scope (FORBIDDEN outside it; the whole of their scope when empty) for "
        "the days from..to (UTC+8, at most 366: OUT_OF_RANGE; INVALID_DATE_RANGE when to is "
        "before from). Police look-ups are audited.",
        permission_classes=[allow(Role.RESPONDER, Role.POLICE)],
    )
    async def safety_stats(
        self,
        info: Info,
        from_: Annotated[dt.date, strawberry.argument(name="from", description="The first day.")],
        to: Annotated[dt.date, strawberry.argument(description="The last day (included).")],
        scope: Annotated[
            StatsScope | None,
            strawberry.argument(description="A town, community or grid; empty: the caller's."),
        ] = None,
    ) -> SafetyStats:
        ctx = info.context
        figures = await safety_stats.safety_stats(ctx.deps, ctx.viewer, scope_of(scope), from_, to)
        return SafetyStats.from_figures(figures)

    @strawberry.field(
        description="RESPONDER and POLICE: the hazards of a scope within theirs as CSV (columns "
        "in the README, 'Fire safety'), all statuses or one, most urgent first: a signed URL "
        "that lives ANJU_HAZARD_EXPORT_URL_TTL_S. FORBIDDEN outside the scope; TOO_MANY_ROWS "
        "over ANJU_HAZARD_EXPORT_MAX_ROWS; RATE_LIMITED (ANJU_HAZARD_EXPORTS_PER_HOUR). "
        "Audited.",
        permission_classes=[allow(Role.RESPONDER, Role.POLICE)],
    )
    async def hazards_export(
        self,
        info: Info,
        scope: Annotated[
            StatsScope,
            strawberry.argument(description="A town, community or grid within the caller's."),
        ],
        status: Annotated[
            HazardStatus | None, strawberry.argument(description="Of this status only.")
        ] = None,
    ) -> Export:
        ctx = info.context
        doc, url = await hazard_exports.export_hazards(
            ctx.deps, ctx.viewer, scope_of(scope), status.name if status else None
        )
        return Export(url=url, expires_at=doc["expires_at"], rows=doc["rows"])
