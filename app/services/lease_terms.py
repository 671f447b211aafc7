"""A lease's terms: what a landlord may write into one (its dates, rent, deposit, due day,
occupants and late fee policy) and what may change later (a later end date and its policy, a
move-out date). Pure checks: each
problem becomes one `userErrors` entry at its field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId

from app.errors import Code, Collector, UserInputError
from app.services import late_fees, occupants, rooms
from app.services.occupants import MAX_OCCUPANTS, OccupantIn, Person
from app.store import Doc
from app.validation import check_int, check_phone

MAX_TERM_YEARS = 10
MAX_BACKDATE = dt.timedelta(days=366)
MAX_AHEAD = dt.timedelta(days=366)
MAX_DEPOSIT_FEN = 12 * rooms.MAX_RENT_FEN


def plus_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class LateFeePolicyIn:
    grace_days: int
    daily_rate_bp: int
    cap_bp: int


def check_late_fee_policy(errors: Collector, given: LateFeePolicyIn | None) -> Doc | None:
    """The policy as stored (None: no late fees), one error per bad field."""
    if given is None:
        return None
    return late_fees.check_policy(
        errors, ["lateFeePolicy"], given.grace_days, given.daily_rate_bp, given.cap_bp
    )


@dataclass(frozen=True)
class StartLeaseIn:
    room_id: ObjectId
    tenant_phone: str
    start_date: dt.date
    end_date: dt.date
    monthly_rent_fen: int
    deposit_fen: int
    rent_due_day: int
    occupants: Sequence[OccupantIn]
    late_fee_policy: LateFeePolicyIn | None = None


def lease_doc(
    room: Doc,
    tenant_id: ObjectId | None,
    *,
    start_date: dt.date,
    end_date: dt.date,
    monthly_rent_fen: int,
    deposit_fen: int,
    rent_due_day: int,
    at: dt.datetime,
    oid: ObjectId | None = None,
    late_fee_policy: Doc | None = None,
) -> Doc:
    """A new ACTIVE lease of `room` (the city builds them with this too): `tenant_id` is the
    accepted tenant's, None until one accepts (app/services/lease_invitations.py)."""
    return {
        "_id": oid or ObjectId(),
        "room_id": room["_id"],
        "property_id": room["property_id"],
        "landlord_id": room["landlord_id"],
        "tenant_id": tenant_id,
        "tenant_accepted_at": at if tenant_id is not None else None,
        "place": room["place"],
        "kind": room["kind"],
        "start_date": start_date.isoformat(),
        "end_date": end_date.isoformat(),
        "monthly_rent_fen": monthly_rent_fen,
        "deposit_fen": deposit_fen,
        "rent_due_day": rent_due_day,
        "late_fee_policy": late_fee_policy,
        "status": "ACTIVE",
        "extensions": [],
        "move_out_date": None,
        "created_at": at,
        "ended_at": None,
    }


def check_term(errors: Collector, start: dt.date, end: dt.date, day: dt.date) -> None:
    bad = Code.INVALID_DATE_RANGE
    if end <= start:
        errors.add(["endDate"], bad, "The end date must be after the start date.")
    elif end > plus_years(start, MAX_TERM_YEARS):
        errors.add(["endDate"], bad, f"A lease runs for at most {MAX_TERM_YEARS} years.")
    elif end < day:
        errors.add(["endDate"], bad, "This lease would already be over.")
    if start < day - MAX_BACKDATE or start > day + MAX_AHEAD:
        errors.add(["startDate"], bad, "The start date must be within a year of today.")


def check_start(given: StartLeaseIn, day: dt.date) -> tuple[str, list[Person], Doc | None]:
    """The tenant's phone, the occupants and the late fee policy, once all are valid."""
    errors = Collector()
    policy = check_late_fee_policy(errors, given.late_fee_policy)
    phone = check_phone(errors, ["tenantPhone"], given.tenant_phone)
    check_term(errors, given.start_date, given.end_date, day)
    rooms.check_rent(errors, ["monthlyRentFen"], given.monthly_rent_fen)
    check_int(
        errors,
        ["depositFen"],
        given.deposit_fen,
        low=0,
        high=MAX_DEPOSIT_FEN,
        code=Code.OUT_OF_RANGE,
    )
    check_int(errors, ["rentDueDay"], given.rent_due_day, low=1, high=28, code=Code.OUT_OF_RANGE)
    if not 1 <= len(given.occupants) <= MAX_OCCUPANTS:
        errors.add(["occupants"], Code.OUT_OF_RANGE, f"Between 1 and {MAX_OCCUPANTS} occupants.")
    people = [
        occupants.check_person(errors, ["occupants", str(i)], o, day)
        for i, o in enumerate(given.occupants[:MAX_OCCUPANTS])
    ]
    seen: set[str] = set()
    for i, person in enumerate(people):
        if person.id_number in seen:
            errors.add(
                ["occupants", str(i), "idNumber"], Code.DUPLICATE, "The same ID number twice."
            )
        seen.add(person.id_number)
    errors.raise_if_any()
    return phone, people, policy


def check_extension(lease: Doc, new_end_date: dt.date) -> None:
    new_end = new_end_date.isoformat()
    if new_end <= lease["end_date"]:
        raise UserInputError(
            "The new end date must be after the current one.",
            code=Code.INVALID_DATE_RANGE,
            field=["newEndDate"],
        )
    if new_end_date > plus_years(dt.date.fromisoformat(lease["start_date"]), MAX_TERM_YEARS):
        raise UserInputError(
            f"A lease runs for at most {MAX_TERM_YEARS} years.",
            code=Code.INVALID_DATE_RANGE,
            field=["newEndDate"],
        )


def check_move_out(lease: Doc, move_out: dt.date, day: dt.date) -> None:
    start = dt.date.fromisoformat(lease["start_date"])
    end = dt.date.fromisoformat(lease["end_date"])
    latest = min(end, max(day, start))
    if not start <= move_out <= latest:
        raise UserInputError(
            f"The move-out date must be between {start} and {latest}.",
            code=Code.INVALID_DATE_RANGE,
            field=["moveOutDate"],
        )
