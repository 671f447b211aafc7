"""Invoices: one per calendar month of a lease's term, what each is in, and how it is cut
when the lease ends. Their money (paid, pending, open) is the ledger's
(app/services/invoice_ledger.py), their lines (rent, water, electricity, late fee, deposit)
app/services/invoice_lines.py's.

Kinds: RENT (a month of the term: a RENT line, later WATER / ELECTRICITY / LATE_FEE lines),
DEPOSIT (one, due on the start date: app/services/deposits.py) and UTILITIES (meter lines with
no rent invoice left to carry them: app/services/meters.py).

Rules (the README repeats them):
- One invoice per calendar month of the term (`invoice_periods`), the first and last prorated
  by days: amount = round(monthly rent x days covered / days in that month), half a fen
  rounded up; a whole month is the monthly rent exactly. Due on `rentDueDay` of the period's
  month, moved into the period when it falls outside it (to its first day when the lease
  starts after the due day, to its last when it ends before it). An extension bills its new
  days the same way at its rent (the month of the old end date gets a second invoice for its
  remaining days, if any).
- Ending a lease: invoices starting after the move-out date are voided (or, if something was
  paid on one or it carries other lines than rent, their rent cut to nothing, or to what was
  paid); the invoice running across it has its rent cut to it and re-prorated (never below
  what was paid); the other lines stay, but a late fee is cut to the cap of the cut rent.
- Status: VOID if voided; PAID once paid reaches the amount; else OVERDUE after its due date
  (UTC); else PARTIALLY_PAID if anything is paid; else OPEN.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from typing import Any

from bson import ObjectId

from app.clock import today
from app.deps import Deps
from app.services import invoice_ledger, invoice_lines, late_fees
from app.services.invoice_lines import RENT
from app.store import Doc, Page, Store

OPEN, PARTIALLY_PAID, PAID, OVERDUE, VOID = "OPEN", "PARTIALLY_PAID", "PAID", "OVERDUE", "VOID"
INVOICE_ORDER = [("period_start", 1), ("_id", 1)]
RENT_INVOICE, DEPOSIT_INVOICE, UTILITIES_INVOICE = "RENT", "DEPOSIT", "UTILITIES"


# --- the calendar -----------------------------------------------------------------------------


def month_days(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def prorate(monthly_rent_fen: int, days: int, days_in_month: int) -> int:
    """monthly rent x days / days in the month, rounded to the fen (half a fen up)."""
    return (2 * monthly_rent_fen * days + days_in_month) // (2 * days_in_month)


def invoice_periods(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """[start, end] (both included) cut at calendar-month boundaries."""
    periods = []
    day = start
    while day <= end:
        last = day.replace(day=month_days(day))
        periods.append((day, min(last, end)))
        day = last + dt.timedelta(days=1)
    return periods


def due_date(period_start: dt.date, period_end: dt.date, rent_due_day: int) -> dt.date:
    """`rent_due_day` of the period's month, moved into the period if it falls outside."""
    return min(period_end, max(period_start, period_start.replace(day=rent_due_day)))


def period_amount(monthly_rent_fen: int, start: dt.date, end: dt.date) -> int:
    return prorate(monthly_rent_fen, (end - start).days + 1, month_days(start))


def invoice_doc(
    lease: Doc,
    kind: str,
    period: tuple[dt.date, dt.date],
    due: dt.date,
    lines: list[Doc],
    at: dt.datetime,
    oid: ObjectId | None = None,
) -> Doc:
    """A new invoice of `lease` (its ledger, and the late fee policy it is issued under)."""
    return {
        "_id": oid or ObjectId(),
        "lease_id": lease["_id"],
        "landlord_id": lease["landlord_id"],
        "tenant_id": lease["tenant_id"],
        "room_id": lease["room_id"],
        "property_id": lease["property_id"],
        "kind": kind,
        "period_start": period[0].isoformat(),
        "period_end": period[1].isoformat(),
        "due_date": due.isoformat(),
        "void": False,
        "created_at": at,
        "rent_due_sent": False,  # RENT_DUE told (or found paid): rent_reminders
        **invoice_ledger.ledger_fields(lines),
        **late_fees.fields_for(
            lease.get("late_fee_policy") if kind == RENT_INVOICE else None, due, at.date()
        ),
    }


def invoice_docs(
    lease: Doc,
    start: dt.date,
    end: dt.date,
    monthly_rent_fen: int,
    at: dt.datetime,
    new_id: Callable[[], ObjectId] = ObjectId,
) -> list[Doc]:
    """The invoices of `lease` for the days [start, end] at `monthly_rent_fen`."""
    docs = []
    for first, last in invoice_periods(start, end):
        rent = invoice_lines.rent_line(first, last, period_amount(monthly_rent_fen, first, last))
        due = due_date(first, last, lease["rent_due_day"])
        doc = invoice_doc(lease, RENT_INVOICE, (first, last), due, [rent], at, new_id())
        docs.append(doc | {"monthly_rent_fen": monthly_rent_fen})
    return docs


def is_rent(invoice: Doc) -> bool:
    return invoice.get("kind", RENT_INVOICE) == RENT_INVOICE


# --- status -----------------------------------------------------------------------------------


def invoice_status(doc: Doc, on: dt.date | None = None) -> str:
    if doc.get("void"):
        return VOID
    paid = int(doc.get("paid_fen", 0))
    if paid >= int(doc["amount_fen"]):
        return PAID
    if doc["due_date"] < (on or today()).isoformat():
        return OVERDUE
    return PARTIALLY_PAID if paid > 0 else OPEN


def owed_fen(doc: Doc) -> int:
    return max(0, int(doc["amount_fen"]) - int(doc.get("paid_fen", 0)))


_UNPAID: dict[str, Any] = {"$or": [{"open_fen": {"$gt": 0}}, {"pending_fen": {"$gt": 0}}]}


def status_filter(status: str) -> dict[str, Any]:
    """The conditions of the invoices in `status` today, in plain conditions (no $expr)."""
    day = today().isoformat()
    live = {"void": {"$ne": True}}
    filters: dict[str, dict[str, Any]] = {
        VOID: {"void": True},
        PAID: {**live, "open_fen": 0, "pending_fen": 0},
        OVERDUE: {**live, "due_date": {"$lt": day}, **_UNPAID},
        OPEN: {**live, "due_date": {"$gte": day}, "paid_fen": 0},
        PARTIALLY_PAID: {**live, "due_date": {"$gte": day}, "paid_fen": {"$gt": 0}, **_UNPAID},
    }
    return filters[status]


async def lease_invoices(
    deps: Deps, lease_id: ObjectId, status: str | None, *, first: int | None, after: str
) -> Page:
    """A page of a lease's invoices after a cursor (the first page comes from the loader that
    reads every lease's of the request at once)."""
    where = {"lease_id": lease_id, **(status_filter(status) if status else {})}
    return await deps.store.page(
        "invoices",
        where,
        INVOICE_ORDER,
        first=first,
        after=after,
        default_first=50,
        with_total=True,
    )


# --- ending a lease ---------------------------------------------------------------------------


async def cut_to_move_out(store: Store, lease_id: ObjectId, move_out: str) -> None:
    """Cuts every invoice of the lease running past the move-out date (see the rules)."""
    ids = await store.invoices.distinct(
        "_id", {"lease_id": lease_id, "void": {"$ne": True}, "period_end": {"$gt": move_out}}
    )
    for invoice_id in ids:
        await _cut(store, invoice_id, move_out)


async def _cut(store: Store, invoice_id: ObjectId, move_out: str) -> None:
    """One invoice: voided if it starts after the move-out and nothing was taken on it and
    it carries nothing but rent; otherwise its rent re-prorated to the move-out (to nothing
    for one starting after it), never below what is paid or awaits the provider, and its
    period ended there. Every write goes through the ledger, under the invoice's guard, so
    that a payment made meanwhile is never lost."""
    for _ in range(10):
        inv = await store.invoices.find_one({"_id": invoice_id})
        if inv is None or inv.get("void") or inv["period_end"] <= move_out:
            return
        taken = int(inv.get("paid_fen", 0)) + int(inv.get("pending_fen", 0))
        others = [x for x in invoice_lines.lines_of(inv) if x["kind"] != RENT]
        if inv["period_start"] > move_out and taken == 0 and not others:
            if await invoice_ledger.void_if_unpaid(store, invoice_id):
                return
            continue  # a payment came meanwhile: look again
        done = await invoice_ledger.rewrite_lines(
            store, invoice_id, lambda current: _cut_lines(current, move_out)
        )
        if done is not None:
            return


def _cut_lines(inv: Doc, move_out: str) -> tuple[list[Doc], Doc] | None:
    if inv.get("void") or inv["period_end"] <= move_out:
        return None
    taken = int(inv.get("paid_fen", 0)) + int(inv.get("pending_fen", 0))
    lines = invoice_lines.lines_of(inv)
    others = [x for x in lines if x["kind"] != RENT]
    first = dt.date.fromisoformat(inv["period_start"])
    out = dt.date.fromisoformat(move_out)
    if inv["period_start"] > move_out:
        cut, end = 0, inv["period_end"]
        period = (first, dt.date.fromisoformat(end))
    else:
        rent = int(inv.get("monthly_rent_fen") or invoice_lines.amount_of(lines, RENT))
        cut, end = period_amount(rent, first, out), move_out
        period = (first, out)
    others = [late_fees.capped_to_rent(x, inv.get("late_fee_policy"), cut) for x in others]
    floor = max(0, taken - invoice_lines.total(others))
    rent_fen = max(cut, floor)
    rent_line = invoice_lines.rent_line(*period, rent_fen, kept_at_paid=rent_fen > cut)
    if inv["period_start"] > move_out:
        rent_line["description"] = (
            "No rent: the lease ended before this period"
            if rent_fen == 0
            else f"Rent kept at what was paid before the lease ended on {move_out}"
        )
    return [rent_line, *others], {"period_end": end}
