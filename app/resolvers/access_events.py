"""accessEvents, doorEntryCounts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.access_events import AccessEvent, AccessEventFilter, DoorEntryCount
from app.schema.connection import Before, HistoryAfter, HistoryFirst, Last, UncountedConnection
from app.schema.permissions import allow
from app.services import access_events, door_entry_counts
from app.viewer import Role


@strawberry.type
class AccessEventQueries:
    @strawberry.field(
        description="POLICE (any door in scope, reason required, audited); LANDLORD (own "
        "doors: remote openings, refused swipes and codes without whose, entries with their "
        "own passes; card entries only as doorEntryCounts); TENANT (their room's doors and "
        "entrance while their lease runs: their own swipes, every remote opening of the room's "
        "doors, their own of the entrance, entries with passes for their room). A range of at "
        "most 366 days; newest first.",
        permission_classes=[allow(Role.LANDLORD, Role.POLICE, Role.TENANT)],
    )
    async def access_events(
        self,
        info: Info,
        filter: Annotated[
            AccessEventFilter,
            strawberry.argument(description="Which doors and what time range."),
        ],
        reason: Annotated[
            str | None,
            strawberry.argument(
                description="POLICE only, required for them: why they read it (a case number), "
                "1-200 characters, kept in the audit log (REASON_REQUIRED, TOO_LONG); "
                "ignored for others."
            ),
        ] = None,
        first: HistoryFirst = None,
        after: HistoryAfter = None,
        last: Last = None,
        before: Before = None,
    ) -> UncountedConnection[AccessEvent]:
        page = await access_events.events(
            info.context.deps,
            info.context.viewer,
            filter.to_query(),
            reason,
            first=first,
            after=after,
            last=last,
            before=before,
        )
        return UncountedConnection.of(page, AccessEvent.from_doc)

    @strawberry.field(
        description="LANDLORD (own property): granted card entries and refusals per door and "
        "UTC day, `from` to `to` included (at most 366 days), without who; days without any "
        "are left out.",
        permission_classes=[allow(Role.LANDLORD)],
    )
    async def door_entry_counts(
        self,
        info: Info,
        property_id: Annotated[
            strawberry.ID, strawberry.argument(description="A property of the caller's.")
        ],
        from_: Annotated[
            dt.date, strawberry.argument(name="from", description="The first UTC day.")
        ],
        to: Annotated[dt.date, strawberry.argument(description="The last UTC day (included).")],
    ) -> list[DoorEntryCount]:
        rows = await door_entry_counts.door_entry_counts(
            info.context.deps,
            info.context.viewer,
            decode_id(property_id, "Property", ["propertyId"]),
            from_,
            to,
        )
        return [
            DoorEntryCount(
                door_id=r["door_id"],
                date=r["date"],
                card_entries=r["card_entries"],
                refused=r["refused"],
            )
            for r in rows
        ]
