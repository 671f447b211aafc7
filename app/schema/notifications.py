"""Notifications: types, the connection, and markNotificationsRead's input and payload."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.alarms import Alarm
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.node import register_node
from app.services import notifications
from app.store import Doc

if TYPE_CHECKING:
    from app.schema.hazards import Hazard
    from app.schema.invoices import Invoice
    from app.schema.leases import Lease
    from app.schema.maintenance import MaintenanceRequest
    from app.schema.visitor_passes import VisitorPass


@strawberry.enum(
    description="What a notification is about; the apps pick an icon and a screen by it.",
)
class NotificationKind(enum.Enum):
    _value_: str

    SMOKE_ALARM = strawberry.enum_value(
        "SMOKE_ALARM",
        description="A smoke alarm was raised (alarm): to the landlord and the responders of the "
        "area.",
    )
    RENT_DUE = strawberry.enum_value(
        "RENT_DUE", description="To the tenant: an invoice falls due soon (invoice)."
    )
    RENT_REMINDER = strawberry.enum_value(
        "RENT_REMINDER",
        description="To the tenant: the landlord's reminder of an unpaid invoice (remindTenant).",
    )
    PAYMENT_RECEIVED = strawberry.enum_value(
        "PAYMENT_RECEIVED", description="To the landlord: a tenant's payment succeeded (invoice)."
    )
    LEASE_CHANGED = strawberry.enum_value(
        "LEASE_CHANGED",
        description="A lease was accepted, extended or ended, or a late fee waived (lease, "
        "invoice).",
    )
    ACCOUNT_SECURITY = strawberry.enum_value(
        "ACCOUNT_SECURITY", description="A new log-in or a password change on the account."
    )
    LEASE_INVITATION = strawberry.enum_value(
        "LEASE_INVITATION",
        description="To the invited phone's account: a lease awaits acceptance (lease).",
    )
    MAINTENANCE_UPDATED = strawberry.enum_value(
        "MAINTENANCE_UPDATED", description="A step of a repair request (maintenanceRequest)."
    )
    DOOR_OPENED_BY_LANDLORD = strawberry.enum_value(
        "DOOR_OPENED_BY_LANDLORD",
        description="To a tenant: their landlord opened their room's door remotely.",
    )
    VISITOR_PASS = strawberry.enum_value(
        "VISITOR_PASS",
        description="To a tenant: their landlord issued a pass to their room; to an issuer: "
        "the tenant revoked their pass.",
    )
    AUTOPAY = strawberry.enum_value(
        "AUTOPAY",
        description="To the tenant: autopay turned on or stopped, a charge taken or failed.",
    )
    DEPOSIT_SETTLED = strawberry.enum_value(
        "DEPOSIT_SETTLED",
        description="To the tenant: the deposit was settled; to the landlord: the tenant "
        "disputes the settlement.",
    )
    HAZARD_FOUND = strawberry.enum_value(
        "HAZARD_FOUND",
        description="To the landlord and the area's responders: a fire-safety hazard was "
        "found (hazard).",
    )
    HAZARD_DUE = strawberry.enum_value(
        "HAZARD_DUE", description="Three days before a hazard's deadline ends."
    )
    HAZARD_OVERDUE = strawberry.enum_value(
        "HAZARD_OVERDUE",
        description="A hazard's deadline passed: also to the town's responders (escalated).",
    )
    HAZARD_RECTIFIED = strawberry.enum_value(
        "HAZARD_RECTIFIED", description="A hazard was verified rectified (or its cause is gone)."
    )
    HAZARD_UPDATED = strawberry.enum_value(
        "HAZARD_UPDATED",
        description="To responders: a rectification was reported (verify it); to the "
        "landlord: it was rejected (REOPENED).",
    )


@strawberry.type(
    description="A message to one account, shown in the app and pushed by the notificationAdded "
    "subscription. Only the account it was sent to sees it.",
)
class Notification(Node):
    doc: strawberry.Private[Doc]
    kind: NotificationKind = strawberry.field(description="What it is about.")
    title: str = strawberry.field(description="A short headline, in Chinese then English.")
    body: str = strawberry.field(description="The message (amounts in yuan, times UTC).")
    created_at: dt.datetime = strawberry.field(description="When it was sent (UTC).")
    read_at: dt.datetime | None = strawberry.field(
        description="When the account marked it read (UTC); null while unread."
    )

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
    @strawberry.field(description="For SMOKE_ALARM: the alarm.")
    async def alarm(self, info: Info) -> Alarm | None:
        if self.doc.get("alarm_id") is None:
            return None
        doc = await info.context.loaders.by_id("alarms").load(self.doc["alarm_id"])
        return Alarm.from_doc(doc) if doc else None

    @strawberry.field(
        description="For RENT_DUE, RENT_REMINDER, PAYMENT_RECEIVED: the invoice, while the reader "
        "may see it.",
    )
    async def invoice(
        self, info: Info
    ) -> Annotated[Invoice, strawberry.lazy("app.schema.invoices")] | None:
        from app.schema.invoices import invoice_of

        return await invoice_of(info, self.doc.get("invoice_id"))

    @strawberry.field(
        description="For LEASE_CHANGED, LEASE_INVITATION and DEPOSIT_SETTLED: the lease, while the"
        " reader may see it.",
    )
    async def lease(
        self, info: Info
    ) -> Annotated[Lease, strawberry.lazy("app.schema.leases")] | None:
        from app.schema.leases import Lease

        if self.doc.get("lease_id") is None:
            return None
        doc = await info.context.loaders.lease_by_id.load(self.doc["lease_id"])
        return Lease.from_doc(doc) if doc else None

    @strawberry.field(description="For MAINTENANCE_UPDATED, while the reader may see it.")
    async def maintenance_request(
        self, info: Info
    ) -> Annotated[MaintenanceRequest, strawberry.lazy("app.schema.maintenance")] | None:
        from app.schema.maintenance import MaintenanceRequest
        from app.services.maintenance import can_see

        if self.doc.get("maintenance_request_id") is None:
            return None
        loader = info.context.loaders.by_id("maintenance_requests")
        doc = await loader.load(self.doc["maintenance_request_id"])
        return (
            MaintenanceRequest.from_doc(doc) if doc and can_see(info.context.viewer, doc) else None
        )

    @strawberry.field(
        description="The fire-safety hazard it is about, while the account may see it."
    )
    async def hazard(
        self, info: Info
    ) -> Annotated[Hazard, strawberry.lazy("app.schema.hazards")] | None:
        from app.schema.hazards import visible_hazard

        if self.doc.get("hazard_id") is None:
            return None
        return await visible_hazard(info, self.doc["hazard_id"])

    @strawberry.field(description="The visitor pass it is about, while the account may see it.")
    async def visitor_pass(
        self, info: Info
    ) -> Annotated[VisitorPass, strawberry.lazy("app.schema.visitor_passes")] | None:
        from app.schema.visitor_passes import visible_pass

        if self.doc.get("visitor_pass_id") is None:
            return None
        return await visible_pass(info, self.doc["visitor_pass_id"])


@register_node("Notification")
async def _notification_node(info: Info, oid: Any) -> Notification | None:
    doc = await info.context.loaders.by_id("notifications").load(oid)
    if doc is None or not notifications.can_see(info.context.viewer, doc):
        return None
    return Notification.from_doc(doc)


@strawberry.input(description="Notifications to mark read.")
class MarkNotificationsReadInput:
    notification_ids: list[strawberry.ID] = strawberry.field(
        description="At most 100 of the caller's notification IDs (INVALID_ARGUMENT over 100, "
        "INVALID_ID)."
    )


@strawberry.type(description="The answer of markNotificationsRead.")
class MarkNotificationsReadPayload:
    count: int = strawberry.field(
        default=0,
        description="How many of the given notifications became read now (ids of others' "
        "notifications, unknown ones and ones already read are ignored).",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
