"""Doors, the access log and camera snapshots: types, inputs and payloads."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.db import Doc
from app.ids import encode_id
from app.pagination import Page
from app.schema.accounts import Account
from app.schema.common import PageInfo, UserError, page_edges
from app.schema.properties import Camera, Door
from app.services import doors as svc

if TYPE_CHECKING:
    from app.schema.leases import Occupant


@strawberry.enum
class DoorCommandStatus(enum.Enum):
    OPENED = "OPENED"
    FAILED = "FAILED"
    DEVICE_OFFLINE = "DEVICE_OFFLINE"
    TIMED_OUT = "TIMED_OUT"


async def _door(info: Info, oid: Any) -> Door:
    doc = await info.context.loaders.by_id("devices").load(oid)
    assert doc is not None, "devices are never deleted"
    return Door.from_doc(doc)


@strawberry.type(
    description="One remote opening. OPENED only when the door confirmed it; TIMED_OUT means "
    "no answer in time (the door may still open: retrying is safe)."
)
class DoorCommand:
    doc: strawberry.Private[Doc]
    id: strawberry.ID
    status: DoorCommandStatus
    requested_at: dt.datetime
    completed_at: dt.datetime | None

    @classmethod
    def from_doc(cls, doc: Doc) -> DoorCommand:
        # PENDING only exists while the request runs (or if it died): not an outcome
        status = doc["status"] if doc["status"] != svc.PENDING else svc.TIMED_OUT
        return cls(
            id=strawberry.ID(encode_id("DoorCommand", doc["_id"])),
            doc=doc,
            status=DoorCommandStatus(status),
            requested_at=doc["requested_at"],
            completed_at=doc.get("completed_at"),
        )

    @strawberry.field
    async def door(self, info: Info) -> Door:
        return await _door(info, self.doc["door_id"])


@strawberry.input
class OpenDoorInput:
    door_id: strawberry.ID


@strawberry.type
class OpenDoorPayload:
    command: DoorCommand | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.enum
class AccessMethod(enum.Enum):
    CARD = "CARD"
    REMOTE = "REMOTE"


@strawberry.type
class AccessEvent:
    doc: strawberry.Private[Doc]
    id: strawberry.ID
    at: dt.datetime
    method: AccessMethod
    granted: bool
    card_number: str | None

    @classmethod
    def from_doc(cls, doc: Doc) -> AccessEvent:
        return cls(
            id=strawberry.ID(encode_id("AccessEvent", doc["_id"])),
            doc=doc,
            at=doc["at"],
            method=AccessMethod(doc["method"]),
            granted=doc["granted"],
            card_number=doc.get("card_number"),
        )

    @strawberry.field
    async def door(self, info: Info) -> Door:
        return await _door(info, self.doc["door_id"])

    @strawberry.field(description="The registered person whose card it was, for CARD events.")
    async def occupant(
        self, info: Info
    ) -> Annotated[Occupant, strawberry.lazy("app.schema.leases")] | None:
        from app.schema.leases import Occupant

        if self.doc.get("occupant_id") is None:
            return None
        doc = await info.context.loaders.by_id("occupants").load(self.doc["occupant_id"])
        if doc is None or not svc.can_see_occupant(info.context.viewer, doc):
            return None
        return Occupant.from_doc(doc)

    @strawberry.field(description="The account that opened the door, for REMOTE events.")
    async def opened_by(self, info: Info) -> Account | None:
        if self.doc.get("opened_by") is None:
            return None
        doc = await info.context.loaders.account_by_id.load(self.doc["opened_by"])
        return Account.from_doc(doc) if doc else None


@strawberry.input
class AccessEventFilter:
    door_id: strawberry.ID | None = None
    property_id: strawberry.ID | None = None
    id_number: str | None = strawberry.field(
        default=None, description="Events of the cards of whoever holds this ID number."
    )
    from_: dt.datetime = strawberry.field(name="from")
    to: dt.datetime


@strawberry.type
class AccessEventEdge:
    node: AccessEvent
    cursor: str


@strawberry.type
class AccessEventConnection:
    edges: list[AccessEventEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page, sort: Any) -> AccessEventConnection:
        edges, info = page_edges(
            page, sort, lambda d, c: AccessEventEdge(node=AccessEvent.from_doc(d), cursor=c)
        )
        return cls(edges=edges, page_info=info)


@strawberry.type
class Snapshot:
    camera: Camera
    taken_at: dt.datetime
    content_type: str
    url: str = strawberry.field(
        description="Short-lived signed URL on this service; it stops working at expiresAt."
    )
    expires_at: dt.datetime

    @classmethod
    def from_doc(cls, doc: Doc, camera: Doc, url: str) -> Snapshot:
        return cls(
            camera=Camera.from_doc(camera),
            taken_at=doc["taken_at"],
            content_type=doc["content_type"],
            url=url,
            expires_at=doc["expires_at"],
        )
