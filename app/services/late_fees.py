"""Late fees: a landlord's policy per lease, and the LATE_FEE line it adds to an unpaid rent
invoice, once a day.

Rules (the README repeats them):
- A policy is set at startLease and may be replaced at extendLease: days of grace, a daily
  rate in basis points of the unpaid amount, and a cap in basis points of the invoice's rent.
  None by default (a rate or a cap of 0 is none). Each rent invoice keeps the policy it was
  issued under: replacing the policy at an extension applies to the new months only, so a
  tenant is never charged by rules they did not agree to for that month.
- Fees accrue from the day after due date + grace days (counted from the day the invoice was
  written, if later: a backdated lease's past months get their grace from today), one day
  at a time, by the rent worker's pass (app/workers/rent.py); `late_fee_next_day` is the
  next day to count, so a day is counted once, whatever the number of workers and passes,
  and days a pass missed are counted when it comes back.
- A day's fee is the daily rate of what the invoice's other lines still owe (late fees are
  never charged on late fees; what awaits the provider counts as paid), half a fen rounded
  up; the fees of an invoice never pass the cap. Accrual stops for good at the cap, once the
  other lines are paid, when the invoice is voided, or when the fee is waived.
- The fee is one LATE_FEE line whose description says how it was computed (rate, each
  unpaid amount and its days, the cap). The landlord may waive it (`waiveLateFee`, with a
  reason, audited): what is still unpaid of it is taken off the invoice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bson import ObjectId

from app.clock import now, today
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import audit, invoice_ledger, invoice_lines
from app.services.invoice_lines import LATE_FEE, RENT, yuan
from app.services.notifications import notify
from app.store import Doc, Store
from app.validation import check_int, clean_text
from app.viewer import Role, Viewer

MAX_GRACE_DAYS = 31
MAX_DAILY_RATE_BP = 500  # 5% a day
MAX_CAP_BP = 10_000  # a month's rent
MAX_REASON = 200
PASS_LIMIT = 500


# --- the policy -------------------------------------------------------------------------------


def check_policy(
    errors: Collector, field: list[str], grace_days: int, daily_rate_bp: int, cap_bp: int
) -> Doc | None:
    """The policy as stored, None for none (a rate or a cap of 0); one error per bad field."""
    for name, value, high in (
        ("graceDays", grace_days, MAX_GRACE_DAYS),
        ("dailyRateBasisPoints", daily_rate_bp, MAX_DAILY_RATE_BP),
        ("capBasisPoints", cap_bp, MAX_CAP_BP),
    ):
        check_int(errors, [*field, name], value, low=0, high=high, code=Code.OUT_OF_RANGE)
    if daily_rate_bp <= 0 or cap_bp <= 0:
        return None
    return {"grace_days": grace_days, "daily_rate_bp": daily_rate_bp, "cap_bp": cap_bp}


def first_fee_day(policy: Doc, due: dt.date, issued: dt.date) -> dt.date:
    return max(due, issued) + dt.timedelta(days=int(policy["grace_days"]) + 1)


def fields_for(policy: Doc | None, due: dt.date, issued: dt.date) -> Doc:
    """The late fee fields of a new invoice issued under `policy`."""
    return {
        "late_fee_policy": policy,
        "late_fee_next_day": first_fee_day(policy, due, issued).isoformat() if policy else None,
    }


def capped_to_rent(line: Doc, policy: Doc | None, rent_fen: int) -> Doc:
    """A LATE_FEE line cut to the cap of a month's rent that was cut (the lease ended in
    it); any other line as it is."""
    if line["kind"] != LATE_FEE or not policy:
        return line
    cap = rent_fen * int(policy["cap_bp"]) // 10_000
    if int(line["amount_fen"]) <= cap:
        return line
    note = f" Cut to {yuan(cap)} with the rent when the lease ended."
    return {**line, "amount_fen": cap, "cap_fen": cap, "description": line["description"] + note}


def percent(bp: int) -> str:
    return f"{bp / 100:.2f}%"


# --- accrual ----------------------------------------------------------------------------------


async def accrue_due(store: Store, *, on: dt.date | None = None) -> int:
    """Counts the days up to today on every invoice whose next day has come. Returns how
    many invoices it changed."""
    day = (on or today()).isoformat()
    changed = 0
    async for invoice in store.invoices.find(
        {"late_fee_next_day": {"$lte": day}}, {"_id": 1}, limit=PASS_LIMIT
    ):
        after = await invoice_ledger.rewrite_lines(
            store, invoice["_id"], lambda current: accrued(current, day)
        )
        changed += after is not None
    return changed


def _stop(lines: list[Doc]) -> tuple[list[Doc], Doc]:
    return lines, {"late_fee_next_day": None}


def accrued(inv: Doc, day: str) -> tuple[list[Doc], Doc] | None:
    """The invoice's lines with the fees of the days from its next day to `day` counted."""
    next_day = inv.get("late_fee_next_day")
    if not next_day or next_day > day:
        return None
    policy = inv.get("late_fee_policy")
    lines = invoice_lines.lines_of(inv)
    fee = next((x for x in lines if x["kind"] == LATE_FEE), None)
    if inv.get("void") or not policy or (fee and fee.get("waived_at")):
        return _stop(lines)
    principal = invoice_lines.without_fees(lines)
    if int(inv["paid_fen"]) >= principal:
        return _stop(lines)
    cap = invoice_lines.amount_of(lines, RENT) * int(policy["cap_bp"]) // 10_000
    fee_fen = int(fee["amount_fen"]) if fee else 0
    if fee_fen >= cap:
        return _stop(lines)
    first, last = dt.date.fromisoformat(next_day), dt.date.fromisoformat(day)
    days = (last - first).days + 1
    base = max(0, principal - int(inv["paid_fen"]) - int(inv["pending_fen"]))
    rate = int(policy["daily_rate_bp"])
    daily = (2 * base * rate + 10_000) // 20_000
    added = min(daily * days, cap - fee_fen)
    segments = list(fee.get("segments", [])) if fee else []
    if added > 0:
        segment = {"from": next_day, "to": day, "base_fen": base, "days": days, "fee_fen": added}
        if segments and segments[-1]["base_fen"] == base:
            last_one = segments[-1]
            segment = {
                **segment,
                "from": last_one["from"],
                "days": last_one["days"] + days,
                "fee_fen": last_one["fee_fen"] + added,
            }
            segments[-1] = segment
        else:
            segments.append(segment)
    total = fee_fen + added
    capped = total >= cap
    new_fee = invoice_lines.line(
        LATE_FEE,
        describe(policy, segments, cap, capped),
        total,
        segments=segments,
        cap_fen=cap,
    )
    kept = [x for x in lines if x["kind"] != LATE_FEE]
    new_lines = [*kept, new_fee] if total > 0 else kept
    following = None if capped else (last + dt.timedelta(days=1)).isoformat()
    return new_lines, {"late_fee_next_day": following}


def describe(policy: Doc, segments: list[Doc], cap: int, capped: bool) -> str:
    """How a fee was computed, as the tenant reads it."""
    parts = [
        f"{s['days']} day{'s' if s['days'] > 1 else ''} from {s['from']} on the unpaid "
        f"{yuan(s['base_fen'])} = {yuan(s['fee_fen'])}"
        for s in segments
    ]
    text = (
        f"Late fee: {percent(int(policy['daily_rate_bp']))} a day after "
        f"{policy['grace_days']} days of grace; " + "; ".join(parts)
    )
    limit = f"at most {percent(int(policy['cap_bp']))} of the rent ({yuan(cap)})"
    return f"{text}; {limit}{', reached' if capped else ''}."


# --- waiving ----------------------------------------------------------------------------------


async def waive_late_fee(deps: Deps, viewer: Viewer, invoice_id: ObjectId, reason: str) -> Doc:
    """LANDLORD: takes what is still unpaid of an invoice's late fee off it, and stops it
    growing; audited with the reason. Returns the invoice."""
    landlord_id = viewer.require(Role.LANDLORD)
    errors = Collector()
    why = clean_text(errors, ["reason"], reason, max_len=MAX_REASON)
    errors.raise_if_any()
    store = deps.store
    invoice = await store.find_by_id("invoices", invoice_id, landlord_id=landlord_id)
    if invoice is None:
        raise NotFoundError("Invoice", field=["invoiceId"])
    at = now()
    waived: dict[str, Any] = {}

    def change(current: Doc) -> tuple[list[Doc], Doc] | None:
        waived.clear()
        lines = invoice_lines.lines_of(current)
        fee = next((x for x in lines if x["kind"] == LATE_FEE), None)
        if current.get("void") or fee is None or fee.get("waived_at"):
            return None
        amount = min(int(fee["amount_fen"]), int(current["open_fen"]))
        if amount <= 0:
            return None
        waived["fen"] = amount
        kept = int(fee["amount_fen"]) - amount
        note = f" Waived {yuan(amount)} on {at.date().isoformat()}: {why}"
        new_fee = {
            **fee,
            "amount_fen": kept,
            "description": fee["description"] + note,
            "waived_at": at,
            "waived_fen": amount,
            "waive_reason": why,
        }
        others = [x for x in lines if x["kind"] != LATE_FEE]
        return [*others, new_fee], {"late_fee_next_day": None}

    after = await invoice_ledger.rewrite_lines(store, invoice_id, change)
    if after is None or "fen" not in waived:
        raise UserInputError(
            "This invoice has no late fee to waive.",
            code=Code.NOTHING_TO_WAIVE,
            field=["invoiceId"],
        )
    await audit.record(
        store,
        landlord_id,
        "invoice.waive_late_fee",
        target=("Invoice", invoice_id),
        reason=why,
        details={"waivedFen": waived["fen"]},
    )
    if after.get("tenant_id") is not None:
        await notify(
            store,
            after["tenant_id"],
            "LEASE_CHANGED",
            "滞纳金已免除 Late fee waived",
            f"Your landlord waived {yuan(waived['fen'])} of the late fee on the rent from "
            f"{after['period_start']}: {why}",
            invoice_id=invoice_id,
            lease_id=after.get("lease_id"),
        )
    return after
