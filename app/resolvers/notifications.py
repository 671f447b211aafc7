"""notifications, markNotificationsRead, and the notifications subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from app.context import Info
from app.errors import Code, UserInputError
from app.ids import decode_id
from app.pagination import paginate
from app.resolvers.common import attempt
from app.schema.notifications import (
    MarkNotificationsReadInput,
    MarkNotificationsReadPayload,
    Notification,
    NotificationConnection,
)
from app.schema.permissions import SignedIn
from app.services import notifications as svc
from app.services import rent
from app.viewer import Role


@strawberry.type
class NotificationQueries:
    @strawberry.field(
        description="The signed-in account's notifications, newest first.",
        permission_classes=[SignedIn],
    )
    async def notifications(
        self,
        info: Info,
        unread_only: bool | None = False,
        first: int | None = 20,
        after: str | None = None,
    ) -> NotificationConnection:
        ctx = info.context
        account_id = ctx.viewer.require()
        if ctx.viewer.role is Role.TENANT and after is None:
            # catch up on RENT_DUE now rather than wait for the worker's next pass
            await rent.send_rent_due(ctx.db, tenant_id=account_id)
        page = await paginate(
            ctx.db.notifications,
            svc.own_filter(account_id, bool(unread_only)),
            svc.ORDER,
            first=first,
            after=after,
        )
        return NotificationConnection.from_page(page, svc.ORDER)


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(
        description="Marks the caller's own notifications read; others' ids are ignored. "
        "`count` is how many became read now.",
        permission_classes=[SignedIn],
    )
    async def mark_notifications_read(
        self, info: Info, input: MarkNotificationsReadInput
    ) -> MarkNotificationsReadPayload:
        ctx = info.context

        async def work() -> MarkNotificationsReadPayload:
            account_id = ctx.viewer.require()
            if len(input.notification_ids) > svc.MAX_MARK:
                raise UserInputError(
                    f"At most {svc.MAX_MARK} notifications at a time.",
                    code=Code.INVALID_ARGUMENT,
                    field=["notificationIds"],
                )
            ids = [
                decode_id(gid, "Notification", ["notificationIds", str(i)])
                for i, gid in enumerate(input.notification_ids)
            ]
            count = await svc.mark_read(ctx.db, account_id, ids)
            return MarkNotificationsReadPayload(count=count)

        return await attempt(MarkNotificationsReadPayload, work)


@strawberry.type
class NotificationSubscriptions:
    @strawberry.subscription(
        description="The signed-in account's notifications as they are created.",
        permission_classes=[SignedIn],
    )
    async def notifications(self, info: Info) -> AsyncGenerator[Notification, None]:
        account_id = info.context.viewer.require()
        async for doc in info.context.state.live.watch(
            "notifications", lambda d: d.get("account_id") == account_id
        ):
            yield Notification.from_doc(doc)
