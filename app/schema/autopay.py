"""Autopay: the type, its status, and setAutopay's input."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from app.context import Info
from app.schema.payments import PaymentMethod
from app.services import autopay
from app.store import Doc


@strawberry.enum(description="Where a tenant's autopay stands: PENDING > ACTIVE > STOPPED.")
class AutopayStatus(enum.Enum):
    PENDING = strawberry.enum_value(
        "PENDING", description="Waiting for the tenant to sign the agreement (signUrl)."
    )
    ACTIVE = strawberry.enum_value(
        "ACTIVE", description="Each invoice's open amount is charged on its due date."
    )
    STOPPED = strawberry.enum_value("STOPPED", description="Nothing more is charged.")


@strawberry.enum(description="Why autopay stopped.")
class AutopayStopReason(enum.Enum):
    TENANT = strawberry.enum_value("TENANT", description="The tenant turned it off.")
    WALLET = strawberry.enum_value(
        "WALLET", description="The agreement was cancelled in the wallet app."
    )
    LEASE_ENDED = strawberry.enum_value("LEASE_ENDED", description="The lease ended.")
    AGREEMENT_INACTIVE = strawberry.enum_value(
        "AGREEMENT_INACTIVE", description="The provider refused a charge: agreement not active."
    )
    PROVIDER_REFUSED = strawberry.enum_value(
        "PROVIDER_REFUSED", description="The provider did not set the agreement up."
    )


@strawberry.type(
    description="A lease's autopay: a payment agreement through which each invoice is charged "
    "when it falls due (its open amount only; at most once per invoice; failed charges retried "
    "a few times, the tenant told each time). Seen by the lease's landlord and tenant."
)
class Autopay:
    doc: strawberry.Private[Doc]
    method: PaymentMethod = strawberry.field(
        description="The wallet it charges: WECHAT_PAY or ALIPAY."
    )
    status: AutopayStatus = strawberry.field(
        description="PENDING until the tenant signs the agreement in their wallet app."
    )
    since: dt.datetime = strawberry.field(description="When it took its current status.")
    stop_reason: AutopayStopReason | None = strawberry.field(description="Why it STOPPED.")
    next_charge_at: dt.datetime | None = strawberry.field(
        description="When autopay next looks for something to charge (00:00 UTC of the next "
        "due date, or a retry); null when nothing is scheduled."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> Autopay:
        reason = doc.get("stop_reason") if doc["status"] == autopay.STOPPED else None
        return cls(
            doc=doc,
            method=PaymentMethod(doc["method"]),
            status=AutopayStatus(doc["status"]),
            since=doc["since"],
            stop_reason=AutopayStopReason(reason) if reason else None,
            next_charge_at=doc.get("next_run_at") if doc["status"] == autopay.ACTIVE else None,
        )

    @strawberry.field(
        description="TENANT, while PENDING: where to sign the agreement in the wallet app."
    )
    def sign_url(self, info: Info) -> str | None:
        if self.doc["status"] != autopay.PENDING:
            return None
        if info.context.viewer.account_id != self.doc["tenant_id"]:
            return None
        url: str | None = self.doc.get("sign_url")
        return url


@strawberry.input(description="TENANT: turns autopay of one of their accepted leases on or off.")
class SetAutopayInput:
    lease_id: strawberry.ID = strawberry.field(
        description="One of the caller's accepted leases (INVALID_ID, NOT_FOUND)."
    )
    method: PaymentMethod | None = strawberry.field(
        description="WECHAT_PAY or ALIPAY (INVALID_METHOD otherwise): a new agreement to sign, "
        "unless autopay is already on with that method; null stops autopay (a charge already "
        "sent settles once; nothing new is charged). PAYMENT_PROVIDER_ERROR when the provider "
        "cannot set it up; LEASE_NOT_ACTIVE for an ended lease."
    )
