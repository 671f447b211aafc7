"""The landlord's rent roll: one month of rent across all of their leases."""

from __future__ import annotations

import re

from app.clock import today
from app.deps import Deps
from app.errors import Code, UserInputError
from app.services.invoice_lines import split_by_kind
from app.services.invoices import OVERDUE, invoice_status
from app.store import Doc
from app.viewer import Role, Viewer

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_bounds(month: str) -> tuple[str, str]:
    """["YYYY-MM-01", first day of the next month) as date strings; INVALID_ARGUMENT else."""
    match = _MONTH.match(month or "")
    year, mon = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not match or not 2000 <= year <= 2100 or not 1 <= mon <= 12:
        raise UserInputError(
            "month must be YYYY-MM, e.g. 2026-03.", code=Code.INVALID_ARGUMENT, field=["month"]
        )
    nxt = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return f"{year:04d}-{mon:02d}-01", f"{nxt[0]:04d}-{nxt[1]:02d}-01"


async def rent_roll(deps: Deps, viewer: Viewer, month: str) -> Doc:
    """LANDLORD: over their invoices (every lease, ended ones too) whose period starts in
    `month`, VOID ones excluded: expected = sum of amounts, collected = sum of paid,
    outstanding = expected - collected (online payments awaiting the provider count as
    outstanding; they are also shown as pending); overdue = those of them OVERDUE today; both
    collected and outstanding split by line kind (app/services/invoice_lines.py)."""
    landlord_id = viewer.require(Role.LANDLORD)
    start, end = month_bounds(month)
    day = today()
    expected = collected = pending = 0
    overdue: list[Doc] = []
    collected_by: dict[str, int] = {}
    outstanding_by: dict[str, int] = {}
    async for invoice in deps.store.invoices.find(
        {"landlord_id": landlord_id, "period_start": {"$gte": start, "$lt": end}}
    ):
        if invoice.get("void"):
            continue
        expected += int(invoice["amount_fen"])
        collected += int(invoice.get("paid_fen", 0))
        pending += int(invoice.get("pending_fen", 0))
        for kind, (paid, owed) in split_by_kind(invoice).items():
            collected_by[kind] = collected_by.get(kind, 0) + paid
            outstanding_by[kind] = outstanding_by.get(kind, 0) + owed
        if invoice_status(invoice, day) == OVERDUE:
            overdue.append(invoice)
    return {
        "month": month,
        "expected_fen": expected,
        "collected_fen": collected,
        "outstanding_fen": expected - collected,
        "pending_fen": pending,
        "overdue": sorted(overdue, key=lambda i: (i["due_date"], i["_id"])),
        "collected_by_kind": collected_by,
        "outstanding_by_kind": outstanding_by,
    }
