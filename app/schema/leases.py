"""Leases: types, inputs and payload."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.accounts import Account
from app.schema.autopay import Autopay
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.connection import After, Connection, First
from app.schema.deposits import DepositSettlement
from app.schema.invoices import Invoice, InvoiceStatus
from app.schema.late_fees import LateFeePolicy, LateFeePolicyInput
from app.schema.node import register_node
from app.schema.occupants import Occupant, OccupantInput
from app.schema.rooms import Room, room_by_id
from app.services import deposits, invoices
from app.services.leases import can_see_lease
from app.store import Doc, page_of_sorted


@strawberry.enum(description="Whether a lease is running.")
class LeaseStatus(enum.Enum):
    _value_: str

    ACTIVE = strawberry.enum_value(
        "ACTIVE", description="Running (or invited and not yet accepted: see tenantAcceptedAt)."
    )
    ENDED = strawberry.enum_value(
        "ENDED",
        description="Ended by endLease: occupants deregistered, cards revoked, later invoices "
        "void.",
    )


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@strawberry.type(description="One extendLease of a lease: its end moved, maybe at a new rent.")
class LeaseExtension:
    previous_end_date: dt.date = strawberry.field(description="The end date before the extension.")
    new_end_date: dt.date = strawberry.field(description="The end date it set.")
    monthly_rent_fen: int = strawberry.field(
        description="The rent of the added months, in fen a month."
    )
    extended_at: dt.datetime = strawberry.field(description="When the landlord extended it (UTC).")
    late_fee_policy: LateFeePolicy | None = strawberry.field(
        description="The policy of the extension's months (null: no late fees)."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> LeaseExtension:
        policy = doc.get("late_fee_policy")
        return cls(
            previous_end_date=dt.date.fromisoformat(doc["previous_end_date"]),
            new_end_date=dt.date.fromisoformat(doc["new_end_date"]),
            monthly_rent_fen=doc["monthly_rent_fen"],
            extended_at=doc["extended_at"],
            late_fee_policy=LateFeePolicy.from_doc(policy) if policy else None,
        )


@strawberry.type(
    description="A tenancy of one room: its terms, occupants and invoices. Seen by the room's "
    "LANDLORD (only the owner), by the TENANT whose account accepted it, and, before "
    "acceptance, by the invited phone's account (myLeases: its terms only, no occupants or "
    "invoices). No other role sees it.",
)
class Lease(Node):
    doc: strawberry.Private[Doc]
    start_date: dt.date = strawberry.field(
        description="The first day of the tenancy (a calendar date in China time)."
    )
    end_date: dt.date = strawberry.field(
        description="The last day of the tenancy (moved by extendLease)."
    )
    monthly_rent_fen: int = strawberry.field(
        description="The current rent, in fen a month (1 yuan = 100 fen)."
    )
    deposit_fen: int = strawberry.field(
        description="The deposit asked, in fen (its DEPOSIT invoice)."
    )
    rent_due_day: int = strawberry.field(
        description="Day of the month on which each month's rent falls due (1-28)."
    )
    status: LeaseStatus = strawberry.field(description="Whether it is running.")
    move_out_date: dt.date | None = strawberry.field(
        description="Set when the lease ended: the last day lived there and paid for."
    )
    tenant_accepted_at: dt.datetime | None = strawberry.field(
        description="When the tenant's account accepted the lease; until then that account "
        "may not open its doors, see its occupants or pay."
    )
    invited_phone: str = strawberry.field(
        description="The phone the invitation went to (what the landlord sees before acceptance)."
    )
    late_fee_policy: LateFeePolicy | None = strawberry.field(
        description="The late fee policy of its latest months (null: none); each invoice keeps "
        "the one it was issued under."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> Lease:
        policy = doc.get("late_fee_policy")
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
            tenant_accepted_at=doc.get("tenant_accepted_at"),
            invited_phone=doc["invited_phone"],
            late_fee_policy=LateFeePolicy.from_doc(policy) if policy else None,
        )

    def _shown(self, info: Info) -> bool:
        """Its landlord and its accepted tenant see what is behind the lease; an invitee
        sees only its terms."""
        return can_see_lease(info.context.viewer, self.doc)

    @strawberry.field(description="The room let.")
    async def room(self, info: Info) -> Room:
        return await room_by_id(info, self.doc["room_id"])

    @strawberry.field(
        description="The account that accepted the lease. Before that, a stand-in: no account "
        "(its id resolves to nothing), an empty name and the invited phone; read "
        "tenantAcceptedAt and invitedPhone."
    )
    async def tenant(self, info: Info) -> Account:
        if self.doc.get("tenant_id") is None:
            return Account.invitee(self.doc["_id"], self.doc["invited_phone"])
        doc = await info.context.loaders.account_by_id.load(self.doc["tenant_id"])
        assert doc is not None
        return Account.from_doc(doc)

    @strawberry.field(
        description="Who lives there under the lease, in order of arrival; empty before the tenant"
        " accepts.",
    )
    async def occupants(
        self,
        info: Info,
        include_departed: Annotated[
            bool | None,
            strawberry.argument(
                description="Also those deregistered (leftAt set); false by default."
            ),
        ] = False,
    ) -> list[Occupant]:
        if not self._shown(info):
            return []
        docs = await info.context.loaders.occupants_by_lease.load(self.doc["_id"])
        return [Occupant.from_doc(d) for d in docs if include_departed or d["current"]]

    @strawberry.field(
        description="Its invoices by period, oldest first; pages of 50 by default; empty before "
        "the tenant accepts.",
    )
    async def invoices(
        self,
        info: Info,
        status: Annotated[
            InvoiceStatus | None,
            strawberry.argument(description="Only invoices in this status; all when omitted."),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> Connection[Invoice]:
        if not self._shown(info):
            return Connection.empty()
        if after is None:
            # the first page, as a list of leases asks for it: one query for every lease of
            # the request (a lease has a few dozen invoices at most, so each is loaded whole)
            where = invoices.status_filter(status.value) if status else {}
            docs = await info.context.loaders.invoices_by_lease(where).load(self.doc["_id"])
            page = page_of_sorted(
                docs, invoices.INVOICE_ORDER, first=first, after=None, default_first=50
            )
        else:
            page = await invoices.lease_invoices(
                info.context.deps,
                self.doc["_id"],
                status.value if status else None,
                first=first,
                after=after,
            )
        return Connection.of(page, Invoice.from_doc)

    @strawberry.field(description="Its extensions, oldest first.")
    def extensions(self) -> list[LeaseExtension]:
        return [LeaseExtension.from_doc(e) for e in self.doc.get("extensions", [])]

    @strawberry.field(
        description="The tenant's autopay of this lease, if they ever turned it on (landlord "
        "and tenant)."
    )
    async def autopay(self, info: Info) -> Autopay | None:
        if not self._shown(info):
            return None
        doc = await info.context.loaders.by_id("autopays").load(self.doc["_id"])
        return Autopay.from_doc(doc) if doc else None

    @strawberry.field(description="Paid toward the deposit so far (its DEPOSIT invoice).")
    async def deposit_paid_fen(self, info: Info) -> int:
        if not self._shown(info):
            return 0
        docs = await info.context.loaders.invoices_by_lease({}).load(self.doc["_id"])
        return deposits.held_fen(docs)

    @strawberry.field(description="How the deposit was settled after the lease ended.")
    async def deposit_settlement(self, info: Info) -> DepositSettlement | None:
        if not self._shown(info):
            return None
        doc = await info.context.loaders.by_id("deposit_settlements").load(self.doc["_id"])
        return DepositSettlement.from_doc(doc) if doc else None

    @strawberry.field(
        description="Card changes of this lease not yet confirmed by the doors (the gateway "
        "was unreachable; Anju keeps retrying): the app shows 'cards still being updated' "
        "while this is above 0."
    )
    async def cards_pending(self, info: Info) -> int:
        if not self._shown(info):
            return 0
        jobs = await info.context.loaders.pending_card_jobs_by("lease_id").load(self.doc["_id"])
        return len(jobs)


async def lease_by_id(info: Info, oid: Any) -> Lease:
    doc = await info.context.loaders.lease_by_id.load(oid)
    assert doc is not None
    return Lease.from_doc(doc)


@register_node("Lease")
async def _lease_node(info: Info, oid: Any) -> Lease | None:
    doc = await info.context.loaders.lease_by_id.load(oid)
    return Lease.from_doc(doc) if doc and can_see_lease(info.context.viewer, doc) else None


@strawberry.input(description="The terms of a new lease, and who will live there.")
class StartLeaseInput:
    room_id: strawberry.ID = strawberry.field(
        description="The room to let: the caller's, VACANT (INVALID_ID, NOT_FOUND, "
        "ROOM_NOT_VACANT)."
    )
    tenant_phone: str = strawberry.field(description="Phone of the tenant's account.")
    start_date: dt.date = strawberry.field(
        description="First day, within a year before or after today (INVALID_DATE_RANGE)."
    )
    end_date: dt.date = strawberry.field(
        description="Last day: after startDate, not past, at most 10 years on (INVALID_DATE_RANGE)."
    )
    monthly_rent_fen: int = strawberry.field(
        description="Rent in fen a month, 1 to 100,000,000 (OUT_OF_RANGE)."
    )
    deposit_fen: int = strawberry.field(
        description="Deposit in fen, 0 to 12 months of the maximum rent (OUT_OF_RANGE); 0: none."
    )
    rent_due_day: int = strawberry.field(
        description="Day of the month each month's rent falls due, 1-28 (OUT_OF_RANGE)."
    )
    occupants: list[OccupantInput] = strawberry.field(
        description="Everyone who will live there, the tenant included; each gets a card."
    )
    late_fee_policy: LateFeePolicyInput | None = strawberry.field(
        default=None, description="Late fees of the lease's months; none when absent."
    )


@strawberry.input(description="A later end for an ACTIVE lease.")
class ExtendLeaseInput:
    lease_id: strawberry.ID = strawberry.field(
        description="The lease: the caller's, ACTIVE (INVALID_ID, NOT_FOUND, LEASE_NOT_ACTIVE)."
    )
    new_end_date: dt.date = strawberry.field(
        description="After the current end, at most 10 years after the start (INVALID_DATE_RANGE)."
    )
    monthly_rent_fen: int | None = strawberry.field(
        default=None, description="Defaults to the current rent."
    )
    late_fee_policy: LateFeePolicyInput | None = strawberry.field(
        default=None,
        description="Late fees of the new months (rate or cap 0: none); defaults to the "
        "current policy. Months already billed keep theirs.",
    )


@strawberry.input(description="Which lease ends, and on what day.")
class EndLeaseInput:
    lease_id: strawberry.ID = strawberry.field(
        description="The lease: the caller's, ACTIVE (INVALID_ID, NOT_FOUND, LEASE_NOT_ACTIVE)."
    )
    move_out_date: dt.date = strawberry.field(
        description="The last day lived there and paid for: between the start and the end date "
        "(INVALID_DATE_RANGE)."
    )


@strawberry.input(description="The lease invitation to accept.")
class AcceptLeaseInput:
    lease_id: strawberry.ID = strawberry.field(
        description="A lease sent to the caller's phone (INVALID_ID; NOT_FOUND for any other, "
        "INVITATION_EXPIRED, ALREADY_ACCEPTED)."
    )


@strawberry.input(description="The invitation to send again, maybe to a corrected phone.")
class ResendLeaseInvitationInput:
    lease_id: strawberry.ID = strawberry.field(
        description="The caller's lease, not yet accepted (INVALID_ID, NOT_FOUND, "
        "ALREADY_ACCEPTED)."
    )
    tenant_phone: str = strawberry.field(
        description="The phone to invite: the same one, or a corrected one."
    )


@strawberry.type(description="The answer of the lease mutations.")
class LeasePayload:
    lease: Lease | None = strawberry.field(
        default=None, description="The lease as it now is; null when userErrors says why not."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
