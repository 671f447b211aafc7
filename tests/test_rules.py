"""Pure rules, tested as functions: rent arithmetic, invoice periods and due dates, invoice
states, keyset cursors and pages, and the store's emulation of partial unique indexes. The
stories that use them are tested through the API (test_rent.py, test_leases.py, ...)."""

from __future__ import annotations

import datetime as dt

import pytest
from bson import ObjectId

from app.errors import Code, UserInputError
from app.services import invoices
from app.services.invoices import due_date, invoice_periods, invoice_status, period_amount, prorate
from app.store import page_of_sorted
from app.store.indexes import UniqueWhile
from app.store.paging import after_filter, decode_cursor, encode_cursor
from app.store.shadow import shadowed_update, with_shadows

D = dt.date


def test_a_whole_month_is_the_monthly_rent_and_parts_are_prorated_half_a_fen_up() -> None:
    assert prorate(300_000, 31, 31) == 300_000
    assert prorate(300_000, 1, 31) == 9_677  # 9677.419...
    assert prorate(100, 1, 8) == 13  # 12.5 rounds up
    assert prorate(100, 3, 8) == 38  # 37.5 rounds up
    assert period_amount(280_000, D(2028, 2, 1), D(2028, 2, 29)) == 280_000  # a leap February


def test_a_term_is_cut_at_calendar_months() -> None:
    assert invoice_periods(D(2026, 1, 20), D(2026, 3, 5)) == [
        (D(2026, 1, 20), D(2026, 1, 31)),
        (D(2026, 2, 1), D(2026, 2, 28)),
        (D(2026, 3, 1), D(2026, 3, 5)),
    ]
    assert invoice_periods(D(2026, 5, 7), D(2026, 5, 7)) == [(D(2026, 5, 7), D(2026, 5, 7))]
    assert invoice_periods(D(2026, 5, 8), D(2026, 5, 7)) == []


def test_the_due_day_moves_into_a_partial_period() -> None:
    assert due_date(D(2026, 3, 1), D(2026, 3, 31), 5) == D(2026, 3, 5)
    assert due_date(D(2026, 3, 20), D(2026, 3, 31), 5) == D(2026, 3, 20)  # starts after it
    assert due_date(D(2026, 3, 1), D(2026, 3, 3), 5) == D(2026, 3, 3)  # ends before it


def test_a_year_of_whole_months_bills_twelve_rents() -> None:
    lease = {
        "_id": ObjectId(),
        "landlord_id": ObjectId(),
        "tenant_id": ObjectId(),
        "room_id": ObjectId(),
        "property_id": ObjectId(),
        "rent_due_day": 5,
    }
    docs = invoices.invoice_docs(lease, D(2026, 1, 1), D(2026, 12, 31), 250_000, dt.datetime.now())
    assert len(docs) == 12
    assert sum(d["amount_fen"] for d in docs) == 12 * 250_000
    assert all(d["open_fen"] == d["amount_fen"] and d["paid_fen"] == 0 for d in docs)
    assert [d["due_date"] for d in docs][:2] == ["2026-01-05", "2026-02-05"]


@pytest.mark.parametrize(
    ("doc", "status"),
    [
        ({"void": True, "amount_fen": 10, "paid_fen": 0, "due_date": "2026-01-05"}, "VOID"),
        ({"amount_fen": 10, "paid_fen": 10, "due_date": "2026-01-05"}, "PAID"),
        ({"amount_fen": 10, "paid_fen": 3, "due_date": "2026-01-05"}, "OVERDUE"),
        ({"amount_fen": 10, "paid_fen": 3, "due_date": "2026-01-10"}, "PARTIALLY_PAID"),
        ({"amount_fen": 10, "paid_fen": 0, "due_date": "2026-01-06"}, "OPEN"),
    ],
)
def test_an_invoices_status(doc: dict[str, object], status: str) -> None:
    assert invoice_status(doc, D(2026, 1, 6)) == status


def test_a_cursor_carries_its_types_and_refuses_anything_else() -> None:
    values = [dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), 7, "x", ObjectId()]
    assert decode_cursor(encode_cursor(values), 4) == values
    # not base64, one value where two are wanted, a malformed object id ([{"o": "zz"}]), too long
    for bad, length in (
        ("@@", 1),
        (encode_cursor([1]), 2),
        ("W3sibyI6Inp6In1d", 1),
        ("x" * 600, 1),
    ):
        with pytest.raises(UserInputError) as refused:
            decode_cursor(bad, length)
        assert refused.value.code == Code.INVALID_CURSOR


def test_the_page_after_a_cursor_is_strictly_after_it() -> None:
    # the sort's first field bounded (where an index in that order starts reading), then the
    # tie-break
    assert after_filter([("at", -1), ("_id", -1)], [5, 9]) == {
        "at": {"$lte": 5},
        "$or": [{"at": {"$lt": 5}}, {"at": 5, "_id": {"$lt": 9}}],
    }
    assert after_filter([("_id", 1)], [9]) == {"_id": {"$gt": 9}}
    docs = [{"_id": i, "floor": f} for i, f in enumerate([3, 3, 2, 1])]  # sorted floor desc
    sort = [("floor", -1), ("_id", 1)]
    first = page_of_sorted(docs, sort, first=2, after=None)
    assert [d["_id"] for d in first.items] == [0, 1] and first.has_next
    rest = page_of_sorted(docs, sort, first=2, after=first.cursor(first.items[-1]))
    assert [d["_id"] for d in rest.items] == [2, 3] and not rest.has_next
    with pytest.raises(UserInputError):
        page_of_sorted(docs, sort, first=101, after=None)


RULE = UniqueWhile("one_live_per_room", key="room_id", field="live", value=True)


def test_a_shadow_field_holds_the_key_only_while_in_the_state() -> None:
    room, live, down = ObjectId(), ObjectId(), ObjectId()
    assert with_shadows({"_id": live, "room_id": room, "live": True}, [RULE])[RULE.shadow] == room
    assert with_shadows({"_id": down, "room_id": room, "live": False}, [RULE])[RULE.shadow] == down
    # leaving the state frees the key; other updates are left as they are
    leave = shadowed_update({"_id": live}, {"$set": {"live": False}}, [RULE])
    assert leave == {"$set": {"live": False, RULE.shadow: live}}
    other = {"$set": {"title": "x"}}
    assert shadowed_update({"_id": live}, other, [RULE]) is other
    # entering it by an update, or leaving it for many documents at once, is refused loudly
    with pytest.raises(NotImplementedError):
        shadowed_update({"_id": live}, {"$set": {"live": True}}, [RULE])
    with pytest.raises(NotImplementedError):
        shadowed_update({"room_id": room}, {"$set": {"live": False}}, [RULE])
