"""Leases, occupants, access cards and invoices: types, inputs, payloads, node registration."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.db import Doc
from app.ids import encode_id
from app.pagination import Page, SortSpec, check_first, paginate
from app.schema.accounts import Account
from app.schema.common import Node, PageInfo, UserError, page_edges
from app.schema.node import register_node
from app.schema.properties import Room
from app.services import cards, rent
from app.services import leases as svc
from app.services.occupants import can_see_occupant

if TYPE_CHECKING:
    from app.schema.rent import Payment


@strawberry.enum
class LeaseStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


@strawberry.enum
class InvoiceStatus(enum.Enum):
    OPEN = "OPEN"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    OVERDUE = "OVERDUE"
    VOID = "VOID"


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


async def _room(info: Info, room_id: Any) -> Room:
    doc = await info.context.loaders.by_id("rooms").load(room_id)
    assert doc is not None
    return Room.from_doc(doc)


async def _pending_jobs(info: Info, field: str, key: Any) -> int:
    jobs = await info.context.loaders.many_by(
        "card_jobs", field, extra={"state": cards.PENDING}
    ).load(key)
    return len(jobs)


@strawberry.type
class LeaseExtension:
    previous_end_date: dt.date
    new_end_date: dt.date
    monthly_rent_fen: int
    extended_at: dt.datetime

    @classmethod
    def from_doc(cls, doc: Doc) -> LeaseExtension:
        return cls(
            previous_end_date=dt.date.fromisoformat(doc["previous_end_date"]),
            new_end_date=dt.date.fromisoformat(doc["new_end_date"]),
            monthly_rent_fen=doc["monthly_rent_fen"],
            extended_at=doc["extended_at"],
        )


@strawberry.type(
    description="One card per person (一人一卡), valid on the room's doors and the building "
    "entrance."
)
class AccessCard:
    doc: strawberry.Private[Doc]
    card_number: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    revoked_at: dt.datetime | None

    @strawberry.field(
        description="False while a change of this card (issued, extended, revoked) has not yet "
        "been confirmed by every door: the gateway was unreachable, and Anju keeps retrying."
    )
    async def synced_at_gateway(self, info: Info) -> bool:
        return await _pending_jobs(info, "occupant_id", self.doc["_id"]) == 0

    @classmethod
    def from_occupant(cls, doc: Doc) -> AccessCard:
        card = doc["card"]
        return cls(
            doc=doc,
            card_number=card["card_number"],
            valid_from=card["valid_from"],
            valid_until=card["valid_until"],
            revoked_at=card.get("revoked_at"),
        )


@strawberry.type(
    description="Real-name registration of a person living in a room: registered on arrival, "
    "deregistered on departure."
)
class Occupant(Node):
    doc: strawberry.Private[Doc]
    name: str
    id_number_masked: str = strawberry.field(
        description="Resident ID number with the middle digits hidden, e.g. 330782********1234."
    )
    phone: str
    arrived_at: dt.datetime
    left_at: dt.datetime | None

    @classmethod
    def from_doc(cls, doc: Doc) -> Occupant:
        return cls(
            id=strawberry.ID(encode_id("Occupant", doc["_id"])),
            doc=doc,
            name=doc["name"],
            id_number_masked=doc["id_number_masked"],
            phone=doc["phone"],
            arrived_at=doc["arrived_at"],
            left_at=doc.get("left_at"),
        )

    @strawberry.field
    async def room(self, info: Info) -> Room:
        return await _room(info, self.doc["room_id"])

    @strawberry.field
    def card(self) -> AccessCard | None:
        return AccessCard.from_occupant(self.doc) if self.doc.get("card") else None

    @strawberry.field(description="The lease under which this person is registered.")
    async def lease(self, info: Info) -> Lease:
        doc = await info.context.loaders.by_id("leases").load(self.doc["lease_id"])
        assert doc is not None
        return Lease.from_doc(doc)


@strawberry.type
class Invoice(Node):
    doc: strawberry.Private[Doc]
    period_start: dt.date
    period_end: dt.date
    due_date: dt.date
    amount_fen: int
    paid_fen: int
    status: InvoiceStatus

    @classmethod
    def from_doc(cls, doc: Doc) -> Invoice:
        return cls(
            id=strawberry.ID(encode_id("Invoice", doc["_id"])),
            doc=doc,
            period_start=dt.date.fromisoformat(doc["period_start"]),
            period_end=dt.date.fromisoformat(doc["period_end"]),
            due_date=dt.date.fromisoformat(doc["due_date"]),
            amount_fen=doc["amount_fen"],
            paid_fen=int(doc.get("paid_fen", 0)),
            status=InvoiceStatus(rent.invoice_status(doc)),
        )

    @strawberry.field
    async def lease(self, info: Info) -> Lease:
        doc = await info.context.loaders.by_id("leases").load(self.doc["lease_id"])
        assert doc is not None
        return Lease.from_doc(doc)

    @strawberry.field
    async def payments(
        self, info: Info
    ) -> list[Annotated[Payment, strawberry.lazy("app.schema.rent")]]:
        from app.schema.rent import payments_of_invoice

        return await payments_of_invoice(info, self.doc["_id"])


@strawberry.type
class InvoiceEdge:
    node: Invoice
    cursor: str


@strawberry.type
class InvoiceConnection:
    edges: list[InvoiceEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page, sort: SortSpec) -> InvoiceConnection:
        edges, info = page_edges(
            page, sort, lambda d, c: InvoiceEdge(node=Invoice.from_doc(d), cursor=c)
        )
        return cls(edges=edges, page_info=info, total_count=page.total_count or 0)


@strawberry.type
class Lease(Node):
    doc: strawberry.Private[Doc]
    start_date: dt.date
    end_date: dt.date
    monthly_rent_fen: int
    deposit_fen: int
    rent_due_day: int = strawberry.field(
        description="Day of the month on which each month's rent falls due (1-28)."
    )
    status: LeaseStatus
    move_out_date: dt.date | None = strawberry.field(
        description="Set when the lease ended: the last day lived there and paid for."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> Lease:
        return cls(
            id=strawberry.ID(encode_id("Lease", doc["_id"])),
            doc=doc,
            start_date=dt.date.fromisoformat(doc["start_date"]),
            end_date=dt.date.fromisoformat(doc["end_date"]),
            monthly_rent_fen=doc["monthly_rent_fen"],
            deposit_fen=doc["deposit_fen"],
            rent_due_day=doc["rent_due_day"],
            status=LeaseStatus(doc["status"]),
            move_out_date=_date(doc.get("move_out_date")),
        )

    @strawberry.field
    async def room(self, info: Info) -> Room:
        return await _room(info, self.doc["room_id"])

    @strawberry.field
    async def tenant(self, info: Info) -> Account:
        doc = await info.context.loaders.account_by_id.load(self.doc["tenant_id"])
        assert doc is not None
        return Account.from_doc(doc)

    @strawberry.field
    async def occupants(self, info: Info, include_departed: bool | None = False) -> list[Occupant]:
        docs = await info.context.loaders.many_by(
            "occupants", "lease_id", sort=svc.OCCUPANT_ORDER
        ).load(self.doc["_id"])
        return [Occupant.from_doc(d) for d in docs if include_departed or d.get("left_at") is None]

    @strawberry.field
    async def invoices(
        self,
        info: Info,
        status: InvoiceStatus | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> InvoiceConnection:
        extra: Doc = {} if status is None else rent.status_filter(status.value)
        if after is None:
            # the first page, as a list of leases asks for it: one query for every lease of
            # the request (a lease has a few dozen invoices at most, so each is loaded whole)
            limit = check_first(first, 50)
            docs = await info.context.loaders.many_by(
                "invoices", "lease_id", sort=svc.INVOICE_ORDER, extra=extra
            ).load(self.doc["_id"])
            page = Page(items=docs[:limit], has_next=len(docs) > limit, total_count=len(docs))
            return InvoiceConnection.from_page(page, svc.INVOICE_ORDER)
        page = await paginate(
            info.context.db.invoices,
            {"lease_id": self.doc["_id"], **extra},
            svc.INVOICE_ORDER,
            first=first,
            after=after,
            default_first=50,
            with_total=True,
        )
        return InvoiceConnection.from_page(page, svc.INVOICE_ORDER)

    @strawberry.field
    def extensions(self) -> list[LeaseExtension]:
        return [LeaseExtension.from_doc(e) for e in self.doc.get("extensions", [])]

    @strawberry.field(
        description="Card changes of this lease not yet confirmed by the doors (the gateway "
        "was unreachable; Anju keeps retrying): the app shows 'cards still being updated' "
        "while this is above 0."
    )
    async def cards_pending(self, info: Info) -> int:
        return await _pending_jobs(info, "lease_id", self.doc["_id"])


async def active_lease_of_room(info: Info, room: Doc) -> Lease | None:
    """Room.activeLease: the landlord of the room and the lease's tenant see it."""
    docs = await info.context.loaders.many_by("leases", "active_key").load(room["_id"])
    if docs and svc.can_see_lease(info.context.viewer, docs[0]):
        return Lease.from_doc(docs[0])
    return None


# --- inputs and payloads ----------------------------------------------------------------------


@strawberry.input
class OccupantInput:
    name: str
    id_number: str = strawberry.field(
        description="18-character PRC resident ID number; its check digit is verified."
    )
    phone: str


@strawberry.input
class StartLeaseInput:
    room_id: strawberry.ID
    tenant_phone: str = strawberry.field(description="Phone of the tenant's account.")
    start_date: dt.date
    end_date: dt.date
    monthly_rent_fen: int
    deposit_fen: int
    rent_due_day: int
    occupants: list[OccupantInput] = strawberry.field(
        description="Everyone who will live there, the tenant included; each gets a card."
    )


@strawberry.input
class ExtendLeaseInput:
    lease_id: strawberry.ID
    new_end_date: dt.date
    monthly_rent_fen: int | None = strawberry.field(
        default=None, description="Defaults to the current rent."
    )


@strawberry.input
class EndLeaseInput:
    lease_id: strawberry.ID
    move_out_date: dt.date


@strawberry.type
class LeasePayload:
    lease: Lease | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RegisterOccupantInput:
    lease_id: strawberry.ID
    occupant: OccupantInput


@strawberry.input
class DeregisterOccupantInput:
    occupant_id: strawberry.ID


@strawberry.type
class OccupantPayload:
    occupant: Occupant | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


# --- node(id:) --------------------------------------------------------------------------------


@register_node("Lease")
async def _lease_node(info: Info, oid: Any) -> Lease | None:
    doc = await info.context.loaders.by_id("leases").load(oid)
    return Lease.from_doc(doc) if doc and svc.can_see_lease(info.context.viewer, doc) else None


@register_node("Occupant")
async def _occupant_node(info: Info, oid: Any) -> Occupant | None:
    doc = await info.context.loaders.by_id("occupants").load(oid)
    return Occupant.from_doc(doc) if doc and can_see_occupant(info.context.viewer, doc) else None


@register_node("Invoice")
async def _invoice_node(info: Info, oid: Any) -> Invoice | None:
    doc = await info.context.loaders.by_id("invoices").load(oid)
    # an invoice carries its lease's landlord and tenant: the same rule as for the lease
    return Invoice.from_doc(doc) if doc and svc.can_see_lease(info.context.viewer, doc) else None
