"""The back office: population statistics and the audit log (the register comes with leases)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from app.context import Info
from app.db import Doc
from app.pagination import Page
from app.schema.accounts import Account
from app.schema.common import PageInfo, page_edges
from app.schema.properties import PropertyKind, SafetyEquipment


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
