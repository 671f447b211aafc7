"""auditLog."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.schema.audit import AuditEntry
from app.schema.connection import Before, HistoryAfter, HistoryFirst, Last, UncountedConnection
from app.schema.permissions import allow
from app.services import audit
from app.viewer import Role


@strawberry.type
class AuditQueries:
    @strawberry.field(
        description="ADMIN: who did what, including every police query and every remote door "
        "opening.",
        permission_classes=[allow(Role.ADMIN)],
    )
    async def audit_log(
        self,
        info: Info,
        first: HistoryFirst = None,
        after: HistoryAfter = None,
        last: Last = None,
        before: Before = None,
    ) -> UncountedConnection[AuditEntry]:
        page = await audit.entries(
            info.context.deps,
            info.context.viewer,
            first=first,
            after=after,
            last=last,
            before=before,
        )
        return UncountedConnection.of(page, AuditEntry.from_doc)
