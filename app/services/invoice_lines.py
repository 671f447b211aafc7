"""What an invoice is for: its lines (rent, water, electricity, a late fee, the deposit, other),
whose amounts add up to the invoice's amount, and how its payments split across them.

A line is `{"kind", "description", "amount_fen"}` plus what its kind keeps (a meter line its
reading, a late fee how it was computed and whether it was waived). Lines change only through
the ledger (`invoice_ledger.rewrite_lines`), which keeps amount = sum of the lines.

Payments are made on an invoice, not on a line: for the rent roll's split by kind, what is
paid covers the lines in ALLOCATION order (the deposit, the rent, water, electricity, other,
and late fees last, so that a late fee is never charged on a late fee: app/services/late_fees.py
counts as unpaid only what the other lines still owe).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from app.store import Doc

RENT, WATER, ELECTRICITY, LATE_FEE, DEPOSIT, OTHER = (
    "RENT",
    "WATER",
    "ELECTRICITY",
    "LATE_FEE",
    "DEPOSIT",
    "OTHER",
)
KINDS = (RENT, WATER, ELECTRICITY, LATE_FEE, DEPOSIT, OTHER)
ALLOCATION = (DEPOSIT, RENT, WATER, ELECTRICITY, OTHER, LATE_FEE)


def yuan(fen: int) -> str:
    return f"¥{fen / 100:.2f}"


def line(kind: str, description: str, amount_fen: int, **extra: object) -> Doc:
    assert kind in KINDS
    return {"kind": kind, "description": description, "amount_fen": amount_fen, **extra}


def rent_description(start: dt.date, end: dt.date, *, kept_at_paid: bool = False) -> str:
    days = (end - start).days + 1
    text = f"Rent {start.isoformat()} to {end.isoformat()} ({days} day{'s' if days > 1 else ''})"
    return text + (", kept at what was paid before the lease ended" if kept_at_paid else "")


def rent_line(start: dt.date, end: dt.date, amount_fen: int, *, kept_at_paid: bool = False) -> Doc:
    return line(RENT, rent_description(start, end, kept_at_paid=kept_at_paid), amount_fen)


def lines_of(invoice: Doc) -> list[Doc]:
    """The invoice's lines (an invoice written before lines existed is all rent)."""
    found = invoice.get("lines")
    if found is not None:
        return list(found)
    start = dt.date.fromisoformat(invoice["period_start"])
    end = dt.date.fromisoformat(invoice["period_end"])
    return [rent_line(start, end, int(invoice["amount_fen"]))]


def total(lines: Iterable[Doc]) -> int:
    return sum(int(x["amount_fen"]) for x in lines)


def amount_of(lines: Iterable[Doc], *kinds: str) -> int:
    return sum(int(x["amount_fen"]) for x in lines if x["kind"] in kinds)


def without_fees(lines: Iterable[Doc]) -> int:
    """What the lines other than late fees come to (the base of a late fee)."""
    return sum(int(x["amount_fen"]) for x in lines if x["kind"] != LATE_FEE)


def split_by_kind(invoice: Doc) -> dict[str, tuple[int, int]]:
    """kind -> (collected, outstanding) of one live invoice: its paid amount covers its lines
    in ALLOCATION order."""
    owed: dict[str, int] = {}
    for x in lines_of(invoice):
        owed[x["kind"]] = owed.get(x["kind"], 0) + int(x["amount_fen"])
    left = int(invoice.get("paid_fen", 0))
    split: dict[str, tuple[int, int]] = {}
    for kind in ALLOCATION:
        if kind not in owed:
            continue
        collected = min(left, owed[kind])
        left -= collected
        split[kind] = (collected, owed[kind] - collected)
    return split
