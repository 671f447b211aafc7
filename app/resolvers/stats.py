"""populationStats."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.context import Info
from app.schema.accounts import StatsScope, scope_of
from app.schema.permissions import allow
from app.schema.stats import PopulationStats
from app.services import stats
from app.viewer import Role


@strawberry.type
class StatsQueries:
    @strawberry.field(
        description="POLICE and RESPONDER: counts for a town, community or grid (all when "
        "scope is empty).",
        permission_classes=[allow(Role.POLICE, Role.RESPONDER)],
    )
    async def population_stats(
        self,
        info: Info,
        scope: Annotated[
            StatsScope | None,
            strawberry.argument(
                description="The place to count, inside the caller's own scope; the caller's whole"
                " scope when omitted."
            ),
        ] = None,
    ) -> PopulationStats:
        totals = await stats.population_stats(
            info.context.deps, info.context.viewer, scope_of(scope)
        )
        return PopulationStats.from_totals(totals)
