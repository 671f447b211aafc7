"""A lease's terms: what a landlord may write into one (its dates, rent, deposit, due day and
occupants) and what may change later (a later end date, a move-out date). Pure checks: each
problem becomes one `userErrors` entry at its field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId

from app.errors import Code, Collector, UserInputError
from app.services import occupants, rooms
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
class StartLeaseIn:
    room_id: ObjectId
    tenant_phone: str
    start_date: dt.date
    end_date: dt.date
    monthly_rent_fen: int
    deposit_fen: int
    rent_due_day: int
    occupants: Sequence[OccupantIn]


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


def check_start(given: StartLeaseIn, day: dt.date) -> tuple[str, list[Person]]:
    errors = Collector()
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
    return phone, people


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
