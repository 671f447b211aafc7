"""Reminders about rent: the landlord's nudge (RENT_REMINDER, at most once per invoice a UTC
day) and RENT_DUE, told to the tenant of every unpaid invoice falling due within
RENT_DUE_DAYS, once per invoice and due date."""

from __future__ import annotations

import datetime as dt

from bson import ObjectId

from app.clock import today
from app.deps import Deps
from app.errors import Code, NotFoundError, UserInputError
from app.services import invoice_ledger
from app.services.invoices import OVERDUE, PAID, VOID, invoice_status, owed_fen
from app.services.notifications import notify, yuan
from app.store import Doc, Store
from app.viewer import Role, Viewer

RENT_DUE_DAYS = 3


async def remind_tenant(deps: Deps, viewer: Viewer, invoice_id: ObjectId) -> Doc:
    """LANDLORD: a RENT_REMINDER to the invoice's tenant, at most one per invoice a UTC day."""
    landlord_id = viewer.require(Role.LANDLORD)
    invoice = await deps.store.find_by_id("invoices", invoice_id, landlord_id=landlord_id)
    if invoice is None:
        raise NotFoundError("Invoice", field=["invoiceId"])
    status = invoice_status(invoice)
    if status in (PAID, VOID):
        raise UserInputError(
            f"This invoice is {status.lower()}; nothing is owed.",
            code=Code.INVOICE_NOT_PAYABLE,
            field=["invoiceId"],
        )
    if invoice.get("tenant_id") is None:
        raise UserInputError(
            "The tenant has not accepted the lease in the app yet; remind them another way.",
            code=Code.LEASE_NOT_ACCEPTED,
            field=["invoiceId"],
        )
    when = "was due" if status == OVERDUE else "is due"
    sent = await notify(
        deps.store,
        invoice["tenant_id"],
        "RENT_REMINDER",
        "房租提醒 Rent reminder",
        f"Your landlord reminds you: {yuan(owed_fen(invoice))} {when} on "
        f"{invoice['due_date']} ({_what(invoice)} from {invoice['period_start']} to "
        f"{invoice['period_end']}).",
        invoice_id=invoice["_id"],
        lease_id=invoice.get("lease_id"),
        key=f"RENT_REMINDER:{invoice['_id']}:{today().isoformat()}",
    )
    if sent is None:
        raise UserInputError(
            "The tenant has already been reminded about this invoice today.",
            code=Code.ALREADY_REMINDED,
            field=["invoiceId"],
        )
    return sent


async def send_rent_due(
    store: Store, *, on: dt.date | None = None, tenant_id: ObjectId | None = None
) -> int:
    """RENT_DUE to the tenant of every unpaid invoice due within RENT_DUE_DAYS (today
    included), once per invoice and due date (a unique key). Returns how many were sent.
    An invoice told about, or found paid or void, is marked `rent_due_sent` and not read
    again (a due date never changes), so each pass reads only the invoices in the window
    still to be told: by the index on (rent_due_sent, due_date), or for one tenant by
    (tenant_id, due_date)."""
    day = on or today()
    window = {
        "$gte": day.isoformat(),
        "$lte": (day + dt.timedelta(days=RENT_DUE_DAYS)).isoformat(),
    }
    query: Doc = {"rent_due_sent": False, "due_date": window}
    if tenant_id is not None:
        query = {"tenant_id": tenant_id, "due_date": window}
    sent = 0
    async for invoice in store.invoices.find(query):
        if invoice.get("rent_due_sent") or invoice.get("tenant_id") is None:
            continue  # told already; or nobody to tell in the app before a tenant accepts
        if invoice_status(invoice, day) in (PAID, VOID):
            await _done(store, invoice["_id"])
            continue
        days = (dt.date.fromisoformat(invoice["due_date"]) - day).days
        when = "today" if days == 0 else f"in {days} day{'s' if days > 1 else ''}"
        made = await notify(
            store,
            invoice["tenant_id"],
            "RENT_DUE",
            "房租即将到期 Rent due",
            f"{yuan(owed_fen(invoice))} of {_what(invoice)} is due {when} ({invoice['due_date']}).",
            invoice_id=invoice["_id"],
            lease_id=invoice.get("lease_id"),
            key=f"RENT_DUE:{invoice['_id']}:{invoice['due_date']}",
        )
        sent += made is not None
        await _done(store, invoice["_id"])
    return sent


def _what(invoice: Doc) -> str:
    kind = invoice.get("kind")
    return "deposit" if kind == "DEPOSIT" else "utilities" if kind == "UTILITIES" else "rent"


async def _done(store: Store, invoice_id: ObjectId) -> None:
    # A busy invoice is marked by a later pass (the notification's unique key keeps it from
    # being sent twice meanwhile).
    try:
        await invoice_ledger.mark_rent_due_sent(store, invoice_id)
    except UserInputError as exc:
        if exc.code != Code.BUSY:
            raise
