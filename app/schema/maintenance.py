"""Repair requests (报修): types, inputs and payload."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.accounts import Account
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.node import register_node
from app.schema.photos import Photo
from app.schema.rooms import Room, room_by_id
from app.services import maintenance
from app.store import Doc
from app.viewer import Role

if TYPE_CHECKING:
    from app.schema.visitor_passes import VisitorPass


@strawberry.enum(description="What is wrong. FIRE_SAFETY and ELECTRICAL ones are also shown to "
                 "the responders of the area.")  # fmt: skip
class MaintenanceCategory(enum.Enum):
    _value_: str

    PLUMBING = strawberry.enum_value("PLUMBING", description="Water pipes, taps, drains, toilet.")
    ELECTRICAL = strawberry.enum_value("ELECTRICAL", description="Wiring, sockets, breakers.")
    APPLIANCE = strawberry.enum_value(
        "APPLIANCE",
        description="An appliance of the room: air conditioner, water heater, washing machine.",
    )
    DOOR_LOCK = strawberry.enum_value(
        "DOOR_LOCK", description="A door or its lock (the card reader too)."
    )
    FIRE_SAFETY = strawberry.enum_value(
        "FIRE_SAFETY", description="Smoke detectors, extinguishers, blocked exits."
    )
    PESTS = strawberry.enum_value("PESTS", description="Insects or rodents.")
    STRUCTURE = strawberry.enum_value(
        "STRUCTURE", description="Walls, ceiling, floor, windows, leaks from above."
    )
    OTHER = strawberry.enum_value("OTHER", description="Anything else.")


@strawberry.enum(description="OPEN > SCHEDULED > IN_PROGRESS > DONE > CONFIRMED, or CANCELLED.")
class MaintenanceStatus(enum.Enum):
    _value_: str

    OPEN = strawberry.enum_value("OPEN", description="Reported (or reopened: not fixed).")
    SCHEDULED = strawberry.enum_value("SCHEDULED", description="The landlord set a time.")
    IN_PROGRESS = strawberry.enum_value("IN_PROGRESS", description="The landlord is fixing it.")
    DONE = strawberry.enum_value("DONE", description="The landlord says it is fixed.")
    CONFIRMED = strawberry.enum_value("CONFIRMED", description="The tenant agrees (or rated it).")
    CANCELLED = strawberry.enum_value(
        "CANCELLED",
        description="Withdrawn by the tenant, or cancelled by the landlord with a note.",
    )


def _account(info: Info, doc: Doc | None) -> Account:
    """A tenant's account as the viewer may see it: responders get neither the name nor
    the phone, only that a tenant reported it."""
    assert doc is not None
    if info.context.viewer.role is Role.RESPONDER and doc["role"] == Role.TENANT.value:
        return Account.from_doc({**doc, "name": doc["name"][:1] + "*", "phone": "*" * 11})
    return Account.from_doc(doc)


@strawberry.type(description="One step of a repair request.")
class MaintenanceUpdate:
    entry: strawberry.Private[Doc]
    at: dt.datetime = strawberry.field(description="When (UTC).")
    status: MaintenanceStatus = strawberry.field(description="The status it moved the request to.")
    note: str | None = strawberry.field(description="The landlord's or the tenant's words.")

    @strawberry.field(description="Who took the step.")
    async def by(self, info: Info) -> Account:
        return _account(info, await info.context.loaders.account_by_id.load(self.entry["by"]))


@strawberry.type(description="A tenant's repair request (报修) about the room they rent.")
class MaintenanceRequest(Node):
    doc: strawberry.Private[Doc]
    category: MaintenanceCategory = strawberry.field(description="What is wrong.")
    description: str = strawberry.field(description="The tenant's words, at most 1000 characters.")
    status: MaintenanceStatus = strawberry.field(description="Where it stands.")
    scheduled_for: dt.datetime | None = strawberry.field(description="Set by SCHEDULED.")
    created_at: dt.datetime = strawberry.field(description="When it was reported (UTC).")
    rating: int | None = strawberry.field(description="1 to 5, set by the tenant once DONE.")
    rating_comment: str | None = strawberry.field(description="The tenant's words with it.")

    @classmethod
    def from_doc(cls, doc: Doc) -> MaintenanceRequest:
        return cls(
            id=strawberry.ID(encode_id("MaintenanceRequest", doc["_id"])),
            doc=doc,
            category=MaintenanceCategory(doc["category"]),
            description=doc["description"],
            status=MaintenanceStatus(doc["status"]),
            scheduled_for=doc.get("scheduled_for"),
            created_at=doc["created_at"],
            rating=doc.get("rating"),
            rating_comment=doc.get("rating_comment"),
        )

    @strawberry.field(description="The room it is about.")
    async def room(self, info: Info) -> Room:
        return await room_by_id(info, self.doc["room_id"])

    @strawberry.field(description="The tenant (responders see neither name nor phone).")
    async def reported_by(self, info: Info) -> Account:
        doc = await info.context.loaders.account_by_id.load(self.doc["tenant_id"])
        return _account(info, doc)

    @strawberry.field(description="The tenant's photos, checked and stripped of metadata.")
    def photos(self) -> list[Photo]:
        return Photo.all(self.doc.get("photos"))

    @strawberry.field(
        description="When the tenant is at home, in their words (their landlord and they only)."
    )
    def availability(self, info: Info) -> str | None:
        if info.context.viewer.role is Role.RESPONDER:
            return None
        return self.doc.get("availability")

    @strawberry.field(
        description="The visitor pass the landlord issued for the repair worker, while the "
        "viewer may see it (the landlord, the room's tenant)."
    )
    async def visitor_pass(
        self, info: Info
    ) -> Annotated[VisitorPass, strawberry.lazy("app.schema.visitor_passes")] | None:
        from app.schema.visitor_passes import visible_pass

        if self.doc.get("visitor_pass_id") is None:
            return None
        return await visible_pass(info, self.doc["visitor_pass_id"])

    @strawberry.field(description="Every step, oldest first.")
    def updates(self) -> list[MaintenanceUpdate]:
        return [
            MaintenanceUpdate(
                entry=u, at=u["at"], status=MaintenanceStatus(u["status"]), note=u.get("note")
            )
            for u in self.doc.get("updates") or []
        ]


@register_node("MaintenanceRequest")
async def _request_node(info: Info, oid: Any) -> MaintenanceRequest | None:
    doc = await info.context.loaders.by_id("maintenance_requests").load(oid)
    if doc is None or not maintenance.can_see(info.context.viewer, doc):
        return None
    return MaintenanceRequest.from_doc(doc)


@strawberry.input(description="A problem in the room the caller rents.")
class ReportMaintenanceInput:
    room_id: strawberry.ID = strawberry.field(description="The room of the caller's lease.")
    category: MaintenanceCategory = strawberry.field(description="What is wrong.")
    description: str = strawberry.field(description="What is wrong: at most 1000 characters.")
    photo_upload_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="At most 9 MAINTENANCE_PHOTO uploads, in order."
    )
    availability: str | None = strawberry.field(
        default=None, description="When the tenant is at home, in their words (200 characters)."
    )


@strawberry.input(description="The next step of a repair request.")
class UpdateMaintenanceInput:
    request_id: strawberry.ID = strawberry.field(
        description="A request the caller may move (INVALID_ID, NOT_FOUND)."
    )
    status: MaintenanceStatus = strawberry.field(
        description="The status to move to, allowed from the current one for the caller's role "
        "(INVALID_TRANSITION)."
    )
    scheduled_for: dt.datetime | None = strawberry.field(
        default=None, description="Required with SCHEDULED (within 90 days), refused otherwise."
    )
    note: str | None = strawberry.field(
        default=None,
        description="At most 500 characters; required when the landlord cancels (the tenant "
        "is told why).",
    )


@strawberry.input(description="The tenant's rating of a finished repair.")
class RateMaintenanceInput:
    request_id: strawberry.ID = strawberry.field(
        description="The caller's own DONE or CONFIRMED request (INVALID_ID, NOT_FOUND)."
    )
    rating: int = strawberry.field(description="1 to 5.")
    comment: str | None = strawberry.field(default=None, description="At most 500 characters.")


@strawberry.type(description="The answer of the maintenance mutations.")
class MaintenancePayload:
    request: MaintenanceRequest | None = strawberry.field(
        default=None, description="The request as it now is; null when userErrors says why not."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
