"""Deposits: the settlement type, and settleDeposit's and disputeDeposit's inputs."""

from __future__ import annotations

import datetime as dt

import strawberry

from app.schema.payments import PaymentMethod
from app.store import Doc


@strawberry.type(description="One deduction from a deposit.")
class DepositDeduction:
    reason: str = strawberry.field(
        description="The landlord's reason, or 'Unpaid rent <from> to <to>' for an invoice "
        "paid from the deposit."
    )
    amount_fen: int = strawberry.field(description="The amount taken, in fen.")


@strawberry.type(
    description="How an ended lease's deposit was settled: seen by its landlord and tenant."
)
class DepositSettlement:
    held_fen: int = strawberry.field(description="What had been paid of the deposit.")
    deductions: list[DepositDeduction] = strawberry.field(
        description="The lease's unpaid invoices first, then the landlord's deductions."
    )
    refunded_fen: int = strawberry.field(description="HeldFen minus the deductions, in fen.")
    refund_method: PaymentMethod = strawberry.field(
        description="How the landlord says they refunded it (recorded; Anju moves no money back)."
    )
    settled_at: dt.datetime = strawberry.field(description="When the landlord settled it (UTC).")
    dispute_until: dt.datetime = strawberry.field(
        description="The tenant may dispute the settlement until then."
    )
    disputed_at: dt.datetime | None = strawberry.field(
        description="When the tenant disputed it (UTC); null if they did not."
    )
    dispute_note: str | None = strawberry.field(description="The tenant's words.")

    @classmethod
    def from_doc(cls, doc: Doc) -> DepositSettlement:
        return cls(
            held_fen=doc["held_fen"],
            deductions=[
                DepositDeduction(reason=d["reason"], amount_fen=d["amount_fen"])
                for d in doc["deductions"]
            ],
            refunded_fen=doc["refunded_fen"],
            refund_method=PaymentMethod(doc["refund_method"]),
            settled_at=doc["settled_at"],
            dispute_until=doc["dispute_until"],
            disputed_at=doc.get("disputed_at"),
            dispute_note=doc.get("dispute_note"),
        )


@strawberry.input(description="One deduction the landlord takes from the deposit.")
class DepositDeductionInput:
    reason: str = strawberry.field(description="1-200 characters, e.g. 'Broken window'.")
    amount_fen: int = strawberry.field(description="At least 1 fen.")


@strawberry.input(
    description="LANDLORD, after endLease, once (ALREADY_SETTLED; LEASE_ACTIVE before the end; "
    "DEPOSIT_PAYMENT_PENDING while a deposit payment awaits the provider)."
)
class SettleDepositInput:
    lease_id: strawberry.ID = strawberry.field(
        description="The caller's ended lease (INVALID_ID, NOT_FOUND)."
    )
    deductions: list[DepositDeductionInput] = strawberry.field(
        description="At most 20, taken after the unpaid invoices; together at most what is "
        "left of the deposit then (DEDUCTIONS_EXCEED_DEPOSIT)."
    )
    refund_method: PaymentMethod = strawberry.field(
        description="How the landlord refunds the rest (CASH, BANK_TRANSFER, WECHAT_PAY or "
        "ALIPAY); recorded, Anju moves no money back."
    )


@strawberry.input(
    description="TENANT, once, within the dispute window (NOT_SETTLED, ALREADY_DISPUTED, "
    "DISPUTE_WINDOW_CLOSED)."
)
class DisputeDepositInput:
    lease_id: strawberry.ID = strawberry.field(
        description="The caller's lease whose deposit was settled (INVALID_ID, NOT_FOUND)."
    )
    note: str = strawberry.field(description="1-1000 characters, shown to the landlord.")
