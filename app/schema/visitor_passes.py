"""Visitor passes: the type, issueVisitorPass's and revokeVisitorPass's inputs and payload."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.accounts import Account
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.node import register_node
from app.schema.rooms import Room, room_by_id
from app.services import visitor_pass_register
from app.store import Doc


@strawberry.type(
    description="A named visitor's or repair worker's one-off PIN code on a room's doors and "
    "the building entrance, for a window (tenants: at most 24 hours; landlords: 7 days). Seen "
    "by its issuer, the tenant of the room while their lease runs, and POLICE in scope."
)
class VisitorPass(Node):
    doc: strawberry.Private[Doc]
    visitor_name: str = strawberry.field(description="The visitor's real name.")
    visitor_phone: str = strawberry.field(description="Where the code was sent by SMS.")
    visitor_id_number_masked: str = strawberry.field(
        description="Masked except for POLICE, who read the full number here."
    )
    purpose: str | None = strawberry.field(description="Why they come, as the issuer wrote it.")
    valid_from: dt.datetime = strawberry.field(description="From when the code opens.")
    valid_until: dt.datetime = strawberry.field(description="Until when the code opens.")
    revoked_at: dt.datetime | None = strawberry.field(
        description="When it was revoked, or ended with its issuer's lease; null otherwise."
    )
    code: str | None = strawberry.field(
        description="The PIN code itself: only the issuer sees it (the visitor gets it by SMS)."
    )

    @classmethod
    def from_doc(cls, doc: Doc, info: Info) -> VisitorPass:
        viewer = info.context.viewer
        settings = info.context.settings
        return cls(
            id=strawberry.ID(encode_id("VisitorPass", doc["_id"])),
            doc=doc,
            visitor_name=doc["visitor_name"],
            visitor_phone=doc["visitor_phone"],
            visitor_id_number_masked=visitor_pass_register.id_number_shown(viewer, doc, settings),
            purpose=doc.get("purpose"),
            valid_from=doc["valid_from"],
            valid_until=doc["valid_until"],
            revoked_at=doc.get("revoked_at"),
            code=doc["code"] if visitor_pass_register.shows_code(viewer, doc) else None,
        )

    @strawberry.field(description="The room whose doors (and building entrance) it opens.")
    async def room(self, info: Info) -> Room:
        return await room_by_id(info, self.doc["room_id"])

    @strawberry.field(description="The tenant or landlord who issued it.")
    async def issued_by(self, info: Info) -> Account:
        doc = await info.context.loaders.account_by_id.load(self.doc["issued_by"])
        assert doc is not None, "accounts are never deleted"
        return Account.from_doc(doc)

    @strawberry.field(
        description="False while the code's latest change (put on, or revoked from, the doors) "
        "has not been confirmed by every door: the gateway was unreachable, and Anju keeps "
        "retrying."
    )
    async def synced_at_gateway(self, info: Info) -> bool:
        loader = info.context.loaders.pending_card_jobs_by("pass_id")
        return not await loader.load(self.doc["_id"])


async def visible_pass(info: Info, oid: Any) -> VisitorPass | None:
    """The pass if the viewer may see it, else None (exactly as for a missing one)."""
    doc = await info.context.loaders.by_id("visitor_passes").load(oid)
    if doc is None:
        return None
    leases = await info.context.loaders.active_lease_by_room.load(doc["room_id"])
    if not visitor_pass_register.can_see(info.context.viewer, doc, leases):
        return None
    return VisitorPass.from_doc(doc, info)


register_node("VisitorPass")(visible_pass)


@strawberry.input(
    description="A visitor pass: a PIN code for the room's doors and entrance, sent to the visitor"
    " by SMS, for a time window.",
)
class IssueVisitorPassInput:
    room_id: strawberry.ID = strawberry.field(
        description="TENANT: the room of their running lease; LANDLORD: a room of theirs."
    )
    visitor_name: str = strawberry.field(description="The visitor's real name (at most 50).")
    visitor_phone: str = strawberry.field(description="Where the code is sent by SMS.")
    visitor_id_number: str = strawberry.field(
        description="18-character PRC resident ID number, checked like an occupant's."
    )
    purpose: str | None = strawberry.field(
        default=None, description="Why they come (at most 200 characters)."
    )
    valid_from: dt.datetime = strawberry.field(
        description="From when the code opens (a time already past means now); within 30 days."
    )
    valid_until: dt.datetime = strawberry.field(
        description="Until when: at most 24 hours after validFrom for a tenant (and not after "
        "their lease), 7 days for a landlord (OUT_OF_RANGE)."
    )
    maintenance_request_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Optional, LANDLORD: their SCHEDULED or IN_PROGRESS repair request of this "
        "room the pass is for (NOT_FOUND for any other, INVALID_TRANSITION before it is "
        "scheduled); the request then shows the pass (MaintenanceRequest.visitorPass).",
    )


@strawberry.input(description="The pass to revoke.")
class RevokeVisitorPassInput:
    pass_id: strawberry.ID = strawberry.field(
        description="A pass the caller issued, or one to the room they live in."
    )


@strawberry.type(description="The answer of issueVisitorPass and revokeVisitorPass.")
class VisitorPassPayload:
    pass_: VisitorPass | None = strawberry.field(
        default=None, name="pass", description="The pass; null when refused (userErrors)."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
