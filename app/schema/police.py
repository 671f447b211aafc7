"""The back office: population statistics and the audit log (the register comes with leases)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.db import Doc
from app.pagination import Page
from app.schema.accounts import Account
from app.schema.common import PageInfo, page_edges
from app.schema.properties import (
    Property,
    PropertyKind,
    Room,
    SafetyEquipment,
    property_by_id,
    room_by_id,
)
from app.services import register

if TYPE_CHECKING:
    from app.schema.leases import Occupant


@strawberry.type
class KindCount:
    kind: PropertyKind
    properties: int
    rooms: int


@strawberry.type
class PopulationStats:
    properties: int
    rooms: int
    occupied_rooms: int
    residents: int
    by_kind: list[KindCount]
    safety: SafetyEquipment

    @classmethod
    def from_totals(cls, totals: dict[str, Any]) -> PopulationStats:
        return cls(
            properties=totals["properties"],
            rooms=totals["rooms"],
            occupied_rooms=totals["occupied_rooms"],
            residents=totals["residents"],
            by_kind=[
                KindCount(
                    kind=PropertyKind(k["kind"]), properties=k["properties"], rooms=k["rooms"]
                )
                for k in totals["by_kind"]
            ],
            safety=SafetyEquipment.from_doc(totals),
        )


@strawberry.type
class AuditEntry:
    doc: strawberry.Private[Doc]
    at: dt.datetime
    action: str
    reason: str | None
    target: str | None

    @classmethod
    def from_doc(cls, doc: Doc) -> AuditEntry:
        return cls(
            doc=doc,
            at=doc["at"],
            action=doc["action"],
            reason=doc.get("reason"),
            target=doc.get("target"),
        )

    @strawberry.field
    async def account(self, info: Info) -> Account:
        doc = await info.context.loaders.account_by_id.load(self.doc["account_id"])
        if doc is None:  # entries outlive nothing: accounts are never deleted
            raise ValueError("audit entry names an unknown account")
        return Account.from_doc(doc)

    @strawberry.field(description="What the query asked for, as JSON (police queries).")
    def details(self) -> str | None:
        import json

        details = self.doc.get("details")
        return json.dumps(details, ensure_ascii=False, default=str) if details else None


@strawberry.type
class AuditEntryEdge:
    node: AuditEntry
    cursor: str


@strawberry.type
class AuditEntryConnection:
    edges: list[AuditEntryEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page, sort: list[tuple[str, int]]) -> AuditEntryConnection:
        edges, info = page_edges(
            page, sort, lambda d, c: AuditEntryEdge(node=AuditEntry.from_doc(d), cursor=c)
        )
        return cls(edges=edges, page_info=info)


@strawberry.type(description="The police view of one registration, with the full ID number.")
class Resident:
    doc: strawberry.Private[Doc]
    name: str
    id_number: str
    phone: str
    arrived_at: dt.datetime
    left_at: dt.datetime | None

    @classmethod
    def from_doc(cls, doc: Doc, id_number: str) -> Resident:
        return cls(
            doc=doc,
            name=doc["name"],
            id_number=id_number,
            phone=doc["phone"],
            arrived_at=doc["arrived_at"],
            left_at=doc.get("left_at"),
        )

    @strawberry.field
    def occupant(self) -> Annotated[Occupant, strawberry.lazy("app.schema.leases")]:
        from app.schema.leases import Occupant

        return Occupant.from_doc(self.doc)

    @strawberry.field
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])

    @strawberry.field
    async def room(self, info: Info) -> Room:
        return await room_by_id(info, self.doc["room_id"])

    @strawberry.field
    async def landlord(self, info: Info) -> Account:
        doc = await info.context.loaders.account_by_id.load(self.doc["landlord_id"])
        assert doc is not None
        return Account.from_doc(doc)


@strawberry.type
class ResidentEdge:
    node: Resident
    cursor: str


@strawberry.type
class ResidentConnection:
    edges: list[ResidentEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page, sort: list[tuple[str, int]], reveal: Any) -> ResidentConnection:
        edges, info = page_edges(
            page, sort, lambda d, c: ResidentEdge(node=Resident.from_doc(d, reveal(d)), cursor=c)
        )
        return cls(edges=edges, page_info=info, total_count=page.total_count or 0)


@strawberry.input
class ResidentFilter:
    id_number: str | None = None
    name: str | None = None
    phone: str | None = None
    property_id: strawberry.ID | None = None
    town: str | None = None
    community: str | None = None
    current_only: bool | None = True

    def to_query(self) -> register.ResidentQuery:
        return register.ResidentQuery(
            id_number=self.id_number,
            name=self.name,
            phone=self.phone,
            property_id=self.property_id,
            town=self.town,
            community=self.community,
            current_only=self.current_only is not False,
        )
