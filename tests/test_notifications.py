"""Notifications through GraphQL: RENT_DUE, RENT_REMINDER (remindTenant), PAYMENT_RECEIVED,
the list (own, newest first, keyset pages, unread only), markNotificationsRead, node(id:) and
the notifications subscription."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.conftest import Stack
from tests.rent_support import (
    MARK_READ,
    NOTIFICATIONS,
    REMIND,
    Tenancy,
    codes,
    notifications,
    pay,
    record,
    tenancy,
    today,
)
from tests.support import Api, Caller, Subscription

NODE = "query($id: ID!) { node(id: $id) { ... on Notification { id kind } } }"


def remind(landlord: Caller, invoice_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = landlord.data(REMIND, {"input": {"invoiceId": invoice_id}})[
        "remindTenant"
    ]
    return payload


def mark(caller: Caller, ids: list[str]) -> dict[str, Any]:
    payload: dict[str, Any] = caller.data(MARK_READ, {"input": {"notificationIds": ids}})[
        "markNotificationsRead"
    ]
    return payload


def kinds(caller: Caller, kind: str) -> list[dict[str, Any]]:
    return [n for n in notifications(caller) if n["kind"] == kind]


def due_soon_tenancy(api: Api) -> tuple[Tenancy, dict[str, Any]]:
    """A tenancy with an invoice falling due within the next three days."""
    day = next(
        d
        for d in (today() + dt.timedelta(days=n) for n in range(4))
        if d.day <= 28  # rent falls due on days 1-28
    )
    t = tenancy(api, months_back=1, months_ahead=1, due_day=day.day)
    invoice = next(i for i in t.invoices if i["dueDate"] == day.isoformat())
    return t, invoice


# --- RENT_DUE --------------------------------------------------------------------------------


def test_rent_due_goes_to_the_tenant_once_per_invoice(api: Api) -> None:
    # given an invoice falling due within three days (and others overdue or further away)
    t, invoice = due_soon_tenancy(api)

    # when the tenant looks at their notifications, twice
    first = kinds(t.tenant, "RENT_DUE")
    again = kinds(t.tenant, "RENT_DUE")

    # then one RENT_DUE, about that invoice and its lease; none to the landlord
    assert [n["invoice"]["id"] for n in first] == [invoice["id"]]
    assert first[0]["lease"]["id"] == t.lease["id"]
    assert "¥1000.00" in first[0]["body"] and invoice["dueDate"] in first[0]["body"]
    assert first[0]["readAt"] is None
    assert again == first
    assert kinds(t.landlord, "RENT_DUE") == []


def test_an_invoice_told_about_is_not_read_again(api: Api) -> None:
    # given a tenant told that an invoice falls due (the first look sends RENT_DUE)
    t, _ = due_soon_tenancy(api)
    assert len(kinds(t.tenant, "RENT_DUE")) == 1

    def trips() -> int:
        body = t.tenant.post(NOTIFICATIONS, {"first": 100})
        assert "errors" not in body, body
        return int(body["extensions"]["dbRoundTrips"])

    # when they look again, and again
    # then each look costs the same few round trips: the invoice is not read and its
    # notification not attempted again at every look (nor at every pass of the worker)
    assert trips() == trips() <= 4


def test_no_rent_due_for_an_invoice_already_paid(api: Api) -> None:
    # given the invoice due soon is paid before anyone looks
    t, invoice = due_soon_tenancy(api)
    record(t.landlord, invoice["id"], t.rent)
    # then the tenant is not told it is due
    assert kinds(t.tenant, "RENT_DUE") == []


# --- RENT_REMINDER ---------------------------------------------------------------------------


def test_a_landlord_reminds_a_tenant_once_a_day_per_invoice(api: Api) -> None:
    # given an overdue invoice
    t = tenancy(api)
    invoice = t.overdue()

    # when the landlord reminds the tenant
    sent = remind(t.landlord, invoice["id"])

    # then the tenant has a RENT_REMINDER about it
    assert sent["userErrors"] == []
    note = sent["notification"]
    assert (note["kind"], note["invoice"]["id"], note["lease"]["id"]) == (
        "RENT_REMINDER",
        invoice["id"],
        t.lease["id"],
    )
    assert "was due" in note["body"] and "¥1000.00" in note["body"]
    assert [n["id"] for n in kinds(t.tenant, "RENT_REMINDER")] == [note["id"]]

    # when the landlord reminds again the same day: ALREADY_REMINDED, nothing sent
    assert codes(remind(t.landlord, invoice["id"])) == ["ALREADY_REMINDED"]
    assert len(kinds(t.tenant, "RENT_REMINDER")) == 1
    # but another invoice may be reminded about
    assert remind(t.landlord, t.upcoming()["id"])["userErrors"] == []

    # and a paid invoice needs no reminder
    pay(t.tenant, t.invoices[0]["id"], t.rent)
    assert codes(remind(t.landlord, t.invoices[0]["id"])) == ["INVOICE_NOT_PAYABLE"]


def test_remind_tenant_refusals(api: Api) -> None:
    # given an invoice and another landlord
    t = tenancy(api)
    other = tenancy(api)
    invoice = t.overdue()
    # then another landlord's invoice does not exist for them, and bad ids are refused
    assert codes(remind(other.landlord, invoice["id"])) == ["NOT_FOUND"]
    assert codes(remind(t.landlord, "nope")) == ["INVALID_ID"]
    assert kinds(t.tenant, "RENT_REMINDER") == []


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("TENANT", "FORBIDDEN"),
        ("POLICE", "FORBIDDEN"),
        ("RESPONDER", "FORBIDDEN"),
        ("ADMIN", "FORBIDDEN"),
        ("ANONYMOUS", "UNAUTHENTICATED"),
    ],
)
def test_only_the_landlord_reminds(api: Api, role: str, code: str) -> None:
    t = tenancy(api)
    callers = {"TENANT": t.tenant, "ANONYMOUS": api.anonymous()}
    caller = callers.get(role) or api.caller(role)
    assert caller.errors(REMIND, {"input": {"invoiceId": t.overdue()["id"]}}) == [code]


# --- PAYMENT_RECEIVED ------------------------------------------------------------------------


def test_the_landlord_is_told_of_an_online_payment(api: Api) -> None:
    # given a tenant paying online and a landlord recording cash
    t = tenancy(api)
    invoice = t.upcoming()
    pay(t.tenant, invoice["id"], 12_345, method="ALIPAY")
    record(t.landlord, invoice["id"], 100)

    # then the landlord is told of the online payment, once, with its invoice and lease
    [told] = kinds(t.landlord, "PAYMENT_RECEIVED")
    assert (told["invoice"]["id"], told["lease"]["id"]) == (invoice["id"], t.lease["id"])
    assert "张租客" in told["body"] and "¥123.45" in told["body"] and "ALIPAY" in told["body"]
    assert kinds(t.tenant, "PAYMENT_RECEIVED") == []


# --- the list, reading, node -----------------------------------------------------------------


def test_notifications_are_the_callers_own_newest_first_in_pages(api: Api) -> None:
    # given a tenant reminded about three invoices (and told of the lease when it started)
    t = tenancy(api, months_back=2, months_ahead=2)
    for invoice in t.invoices[:3]:
        remind(t.landlord, invoice["id"])
    everything = notifications(t.tenant)
    assert [n["kind"] for n in everything[:3]] == ["RENT_REMINDER"] * 3
    assert [n["invoice"]["id"] for n in everything[:3]] == [i["id"] for i in t.invoices[2::-1]]
    stamps = [n["createdAt"] for n in everything]
    assert stamps == sorted(stamps, reverse=True)

    # when read two at a time
    seen: list[str] = []
    after = None
    while True:
        page = t.tenant.data(NOTIFICATIONS, {"first": 2, "after": after})["notifications"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # then the pages are the whole list, in order, once
    assert seen == [n["id"] for n in everything]
    # and nobody else sees them
    assert not {n["id"] for n in notifications(t.landlord)} & set(seen)
    other = tenancy(api)
    assert not {n["id"] for n in notifications(other.tenant)} & set(seen)
    # and a bad cursor or page size is refused
    assert t.tenant.errors(NOTIFICATIONS, {"first": 2, "after": "garbage"}) == ["INVALID_CURSOR"]
    assert t.tenant.errors(NOTIFICATIONS, {"first": 101}) == ["INVALID_ARGUMENT"]


def test_marking_read_counts_only_ones_own_newly_read(api: Api) -> None:
    # given a tenant with unread notifications, and the landlord's own
    t = tenancy(api)
    remind(t.landlord, t.overdue()["id"])
    pay(t.tenant, t.upcoming()["id"], 100)
    mine = [n["id"] for n in notifications(t.tenant, unreadOnly=True)]
    landlords = [n["id"] for n in notifications(t.landlord, unreadOnly=True)]
    assert len(mine) >= 2 and landlords

    # when the tenant marks theirs and the landlord's read
    done = mark(t.tenant, [*mine, *landlords])

    # then only theirs became read (others' ids are ignored, exactly as unknown ones)
    assert done == {"count": len(mine), "userErrors": []}
    assert notifications(t.tenant, unreadOnly=True) == []
    assert all(n["readAt"] for n in notifications(t.tenant) if n["id"] in mine)
    # (the landlord's stay unread; the safety worker may have told them of the let room's
    # missing smoke detector meanwhile)
    assert set(landlords) <= {n["id"] for n in notifications(t.landlord, unreadOnly=True)}
    # and marking again reads nothing new
    assert mark(t.tenant, mine)["count"] == 0
    assert mark(t.tenant, [])["count"] == 0
    # and bad input is refused
    assert codes(mark(t.tenant, ["bogus"])) == ["INVALID_ID"]
    assert codes(mark(t.tenant, [mine[0]] * 101)) == ["INVALID_ARGUMENT"]


def test_a_notification_is_a_node_for_its_owner_only(api: Api) -> None:
    t = tenancy(api)
    note = remind(t.landlord, t.overdue()["id"])["notification"]
    assert t.tenant.data(NODE, {"id": note["id"]})["node"] == {
        "id": note["id"],
        "kind": "RENT_REMINDER",
    }
    assert t.landlord.data(NODE, {"id": note["id"]})["node"] is None
    assert api.caller("ADMIN").data(NODE, {"id": note["id"]})["node"] is None


@pytest.mark.parametrize("role", ["POLICE", "RESPONDER", "ADMIN"])
def test_every_role_reads_its_own_notifications(api: Api, role: str) -> None:
    caller = api.caller(role)
    # the only one yet: the notice of their own log-in
    assert [n["kind"] for n in notifications(caller)] == ["ACCOUNT_SECURITY"]
    if role == "POLICE":  # police are read-only: every mutation but the session ones refused
        assert caller.errors(MARK_READ, {"input": {"notificationIds": []}}) == ["FORBIDDEN"]
    else:
        assert mark(caller, [])["count"] == 0


def test_anonymous_callers_have_no_notifications(api: Api) -> None:
    anonymous = api.anonymous()
    assert anonymous.errors(NOTIFICATIONS, {}) == ["UNAUTHENTICATED"]
    assert anonymous.errors(MARK_READ, {"input": {"notificationIds": []}}) == ["UNAUTHENTICATED"]


def test_the_subscription_delivers_new_notifications(api: Api, stack: Stack) -> None:
    # given a tenant subscribed to their notifications
    t = tenancy(api)
    query = "subscription { notifications { id kind invoice { id } } }"
    with Subscription(stack.anju_url, query, t.tenant.token) as subscription:
        # when the landlord reminds them
        sent = remind(t.landlord, t.overdue()["id"])["notification"]
        # then it arrives (after anything created just before subscribing: the live feed
        # looks a few seconds back)
        got = subscription.next(timeout=15)
        while got is not None and got["notifications"]["kind"] != "RENT_REMINDER":
            got = subscription.next(timeout=15)
    assert got == {
        "notifications": {
            "id": sent["id"],
            "kind": "RENT_REMINDER",
            "invoice": {"id": t.overdue()["id"]},
        }
    }
