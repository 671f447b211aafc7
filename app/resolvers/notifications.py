"""notifications, markNotificationsRead, and the notifications subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.connection import Before, HistoryAfter, HistoryFirst, Last, UncountedConnection
from app.schema.notifications import (
    MarkNotificationsReadInput,
    MarkNotificationsReadPayload,
    Notification,
)
from app.schema.permissions import SignedIn
from app.services import notifications


@strawberry.type
class NotificationQueries:
    @strawberry.field(
        description="The signed-in account's notifications, newest first.",
        permission_classes=[SignedIn],
    )
    async def notifications(
        self,
        info: Info,
        unread_only: Annotated[
            bool | None,
            strawberry.argument(description="Only those not yet read; false by default."),
        ] = False,
        first: HistoryFirst = None,
        after: HistoryAfter = None,
        last: Last = None,
        before: Before = None,
    ) -> UncountedConnection[Notification]:
        page = await notifications.inbox(
            info.context.deps,
            info.context.viewer,
            unread_only=bool(unread_only),
            first=first,
            after=after,
            last=last,
            before=before,
        )
        return UncountedConnection.of(page, Notification.from_doc)


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(
        description="Any signed-in account: marks its own notifications read; others' ids are "
        "ignored. `count` is how many became read now. Codes: INVALID_ID, INVALID_ARGUMENT "
        "(over 100 ids).",
        permission_classes=[SignedIn],
    )
    async def mark_notifications_read(
        self, info: Info, input: MutationInput[MarkNotificationsReadInput]
    ) -> MarkNotificationsReadPayload:
        ids = [
            decode_id(gid, "Notification", ["notificationIds", str(i)])
            for i, gid in enumerate(input.notification_ids[: notifications.MAX_MARK + 1])
        ]
        count = await notifications.mark_read(info.context.deps, info.context.viewer, ids)
        return MarkNotificationsReadPayload(count=count)


@strawberry.type
class NotificationSubscriptions:
    @strawberry.subscription(
        description="The signed-in account's notifications as they are created.",
        permission_classes=[SignedIn],
    )
    async def notifications(self, info: Info) -> AsyncGenerator[Notification, None]:
        async for doc in notifications.watch(info.context.deps, info.context.viewer):
            yield Notification.from_doc(doc)
