"""Late fees: the policy type and its input, and waiveLateFee's input."""

from __future__ import annotations

import strawberry

from app.store import Doc


@strawberry.type(
    description="How late fees accrue on a lease's rent invoices: set at startLease, "
    "replaceable at extendLease for the new months (each invoice keeps the policy it was "
    "issued under)."
)
class LateFeePolicy:
    grace_days: int = strawberry.field(
        description="Days after the due date (or after the invoice was written, if later) "
        "before fees start."
    )
    daily_rate_basis_points: int = strawberry.field(
        description="Per day, on the unpaid amount, in basis points (1 = 0.01%)."
    )
    cap_basis_points: int = strawberry.field(
        description="The most a month's late fees may reach, in basis points of that month's rent."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> LateFeePolicy:
        return cls(
            grace_days=doc["grace_days"],
            daily_rate_basis_points=doc["daily_rate_bp"],
            cap_basis_points=doc["cap_bp"],
        )


@strawberry.input(
    description="A late fee policy. graceDays 0-31, dailyRateBasisPoints 0-500, "
    "capBasisPoints 0-10000 (OUT_OF_RANGE otherwise); a rate or a cap of 0 means no late fees."
)
class LateFeePolicyInput:
    grace_days: int = strawberry.field(
        description="Days after the due date before fees start, 0-31."
    )
    daily_rate_basis_points: int = strawberry.field(
        description="Fee per day on the unpaid amount, in basis points (1 = 0.01%), 0-500."
    )
    cap_basis_points: int = strawberry.field(
        description="The most a month's fees may reach, in basis points of its rent, 0-10000."
    )


@strawberry.input(description="LANDLORD: waives the late fee of one of their invoices.")
class WaiveLateFeeInput:
    invoice_id: strawberry.ID = strawberry.field(
        description="An invoice of the caller's lease with a late fee (INVALID_ID, NOT_FOUND, "
        "NOTHING_TO_WAIVE)."
    )
    reason: str = strawberry.field(
        description="Why (1-200 characters): recorded in the audit log and told to the tenant."
    )
