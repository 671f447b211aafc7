"""Notifications: types, the connection, and markNotificationsRead's input and payload."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.db import Doc
from app.ids import encode_id
from app.pagination import Page, SortSpec
from app.schema.alarms import Alarm
from app.schema.common import Node, PageInfo, UserError, page_edges
from app.schema.node import register_node

if TYPE_CHECKING:
    from app.schema.leases import Invoice, Lease


@strawberry.enum
class NotificationKind(enum.Enum):
    SMOKE_ALARM = "SMOKE_ALARM"
    RENT_DUE = "RENT_DUE"
    RENT_REMINDER = "RENT_REMINDER"
    PAYMENT_RECEIVED = "PAYMENT_RECEIVED"
    LEASE_CHANGED = "LEASE_CHANGED"


@strawberry.type
class Notification(Node):
    doc: strawberry.Private[Doc]
    kind: NotificationKind
    title: str
    body: str
    created_at: dt.datetime
    read_at: dt.datetime | None

    @classmethod
    def from_doc(cls, doc: Doc) -> Notification:
        return cls(
            id=strawberry.ID(encode_id("Notification", doc["_id"])),
            doc=doc,
            kind=NotificationKind(doc["kind"]),
            title=doc["title"],
            body=doc["body"],
            created_at=doc["created_at"],
            read_at=doc.get("read_at"),
        )

    # A notification is read only by the account it was sent to, which may see what it is
    # about: the alarm it was alerted to, its own invoice or lease.
    @strawberry.field
    async def alarm(self, info: Info) -> Alarm | None:
        if self.doc.get("alarm_id") is None:
            return None
        doc = await info.context.loaders.by_id("alarms").load(self.doc["alarm_id"])
        return Alarm.from_doc(doc) if doc else None

    @strawberry.field
    async def invoice(
        self, info: Info
    ) -> Annotated[Invoice, strawberry.lazy("app.schema.leases")] | None:
        from app.schema.leases import Invoice

        if self.doc.get("invoice_id") is None:
            return None
        doc = await info.context.loaders.by_id("invoices").load(self.doc["invoice_id"])
        return Invoice.from_doc(doc) if doc else None

    @strawberry.field
    async def lease(
        self, info: Info
    ) -> Annotated[Lease, strawberry.lazy("app.schema.leases")] | None:
        from app.schema.leases import Lease

        if self.doc.get("lease_id") is None:
            return None
        doc = await info.context.loaders.by_id("leases").load(self.doc["lease_id"])
        return Lease.from_doc(doc) if doc else None


@register_node("Notification")
async def _notification_node(info: Info, oid: Any) -> Notification | None:
    viewer = info.context.viewer
    doc = await info.context.loaders.by_id("notifications").load(oid)
    if doc is None or viewer.account_id is None or doc["account_id"] != viewer.account_id:
        return None
    return Notification.from_doc(doc)


@strawberry.type
class NotificationEdge:
    node: Notification
    cursor: str


@strawberry.type
class NotificationConnection:
    edges: list[NotificationEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page, sort: SortSpec) -> NotificationConnection:
        edges, info = page_edges(
            page, sort, lambda d, c: NotificationEdge(node=Notification.from_doc(d), cursor=c)
        )
        return cls(edges=edges, page_info=info)


@strawberry.input
class MarkNotificationsReadInput:
    notification_ids: list[strawberry.ID]


@strawberry.type
class MarkNotificationsReadPayload:
    count: int = strawberry.field(
        default=0,
        description="How many of the given notifications became read now (ids of others' "
        "notifications, unknown ones and ones already read are ignored).",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)
