"""Autopay through GraphQL and the simulator's payment agreements: turned on and signed, a due
invoice charged once (two more workers racing, the webhook replayed), nothing charged beside a
payment that covered it, only the rest of a partly paid invoice, failed charges retried a
bounded number of times with the tenant told, stopped at any moment (a charge in flight
settling once), cancelled in the wallet, ended with the lease; and its refusals."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.billing_support import (
    DAY_S,
    agreements,
    autopay_on,
    autopay_payments,
    billing,
    days_until,
    from_today,
    invoice_of,
    set_autopay,
    sign,
)
from tests.conftest import Stack
from tests.lease_support import END_LEASE
from tests.rent_support import charges, codes, events, key, notifications, pay, record, today
from tests.support import Api, eventually, sim_post


def autopay_notes(caller: Any) -> list[dict[str, Any]]:
    return [n for n in notifications(caller) if n["kind"] == "AUTOPAY"]


def charged_once(t: Any, invoice_id: str) -> dict[str, Any] | None:
    """The invoice once autopay's charge of it settled and was applied (None until then)."""
    invoice = invoice_of(billing(t), invoice_id)
    done = [p for p in autopay_payments(invoice) if p["status"] != "PENDING"]
    succeeded = sum(p["amountFen"] for p in invoice["payments"] if p["status"] == "SUCCEEDED")
    return invoice if done and invoice["paidFen"] == succeeded else None


# --- charging --------------------------------------------------------------------------------


def test_autopay_charges_a_due_invoice_once_whatever_the_workers_and_replays(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given a second Anju with two workers on the same database: three rent workers in all
    from devstack.anju import start_anju
    from devstack.procs import free_port, stop

    port = free_port()
    env = {**stack.env, "ANJU_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    second = start_anju(port, env, workers=2, log_path=stack.workdir / "anju-autopay.log")
    try:
        # and a lease whose first invoice falls due today
        t = from_today(api)
        due = t.invoices[0]
        assert due["dueDate"] == today().isoformat()

        # when the tenant turns autopay on and signs the agreement in their wallet app
        agreement = autopay_on(t, http, stack.sim_url)

        # then the invoice is charged: one payment, one charge at the provider, paid once
        invoice = eventually(lambda: charged_once(t, due["id"]))
        assert invoice is not None
        (payment,) = autopay_payments(invoice)
        amount = due["amountFen"]
        assert (payment["status"], payment["amountFen"], payment["method"]) == (
            "SUCCEEDED",
            amount,
            "WECHAT_PAY",
        )
        assert (invoice["paidFen"], invoice["status"]) == (amount, "PAID")
        made = [c for c in charges(http, stack.sim_url) if c["agreementId"] == agreement]
        assert [(c["amountFen"], c["status"]) for c in made] == [(amount, "succeeded")]

        # when the provider's webhook is replayed, and sent again under a new event id
        sent = [e for e in events(http, stack.sim_url) if isinstance(e["body"], dict)]
        confirmation = next(e for e in sent if e["body"].get("chargeId") == made[0]["chargeId"])
        replay = {"eventId": confirmation["eventId"]}
        assert sim_post(http, stack.sim_url, "/sim/events/replay", replay)["anjuStatus"] == 200
        again = {**confirmation["body"], "eventId": key()}
        answer = sim_post(
            http,
            stack.sim_url,
            "/sim/webhooks/send",
            {"target": "payments", "body": json.dumps(again)},
        )
        assert answer["anjuStatus"] == 200

        # then still one payment credited once, and one charge; the tenant told once
        seen = invoice_of(billing(t), due["id"])
        assert seen["paidFen"] == amount
        assert len(autopay_payments(seen)) == 1
        assert len([c for c in charges(http, stack.sim_url) if c["agreementId"]]) == 1
        paid = [n for n in autopay_notes(t.tenant) if n["title"].endswith("Autopay paid")]
        assert len(paid) == 1 and f"¥{amount / 100:.2f}" in paid[0]["body"]
        # and the landlord sees the payment received
        received = [n for n in notifications(t.landlord) if n["kind"] == "PAYMENT_RECEIVED"]
        assert len(received) == 1
    finally:
        stop(second)


def test_a_payment_the_day_before_leaves_nothing_to_charge(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given autopay on, waiting for next month's invoice
    t = from_today(api, months_ahead=2)
    record(t.landlord, t.invoices[0]["id"], t.invoices[0]["amountFen"])
    autopay_on(t, http, stack.sim_url)
    upcoming = t.invoices[1]
    due_at = f"{upcoming['dueDate']}T00:00:00"

    def next_charge() -> str:
        return str(billing(t)["autopay"]["nextChargeAt"] or "")

    assert eventually(lambda: next_charge().startswith(due_at))
    # and that invoice paid by hand the day before it falls due
    days = days_until(upcoming["dueDate"])
    api.move_clock((days - 1) * DAY_S)
    assert record(t.landlord, upcoming["id"], upcoming["amountFen"])["invoice"]["status"] == "PAID"

    # when its due date comes and autopay has looked at it
    api.move_clock(days * DAY_S)
    assert eventually(lambda: not next_charge().startswith(due_at))

    # then nothing was charged
    assert charges(http, stack.sim_url) == []
    invoice = invoice_of(billing(t), upcoming["id"])
    assert autopay_payments(invoice) == []
    assert invoice["paidFen"] == upcoming["amountFen"]


def test_a_partly_paid_invoice_is_charged_only_the_rest(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given an invoice due today of which the tenant paid a third online, and the landlord
    # recorded another third in cash
    t = from_today(api)
    due = t.invoices[0]
    third = due["amountFen"] // 3
    assert pay(t.tenant, due["id"], third)["payment"]["status"] == "SUCCEEDED"
    record(t.landlord, due["id"], third)
    rest = due["amountFen"] - 2 * third

    # when autopay is turned on
    autopay_on(t, http, stack.sim_url, method="ALIPAY")

    # then it charges what is left, once
    invoice = eventually(lambda: charged_once(t, due["id"]))
    assert invoice is not None
    assert [p["amountFen"] for p in autopay_payments(invoice)] == [rest]
    assert (invoice["paidFen"], invoice["status"]) == (due["amountFen"], "PAID")
    automatic = [c for c in charges(http, stack.sim_url) if c["agreementId"]]
    assert [(c["amountFen"], c["method"]) for c in automatic] == [(rest, "ALIPAY")]


def test_failed_charges_are_retried_a_bounded_number_of_times_and_the_tenant_told(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given a wallet that declines every charge, and an invoice due today (next month's paid
    # ahead)
    t = from_today(api)
    due = t.invoices[0]
    record(t.landlord, t.invoices[1]["id"], t.invoices[1]["amountFen"])
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "fail"})

    # when autopay is on: the first try fails, and the tenant is told when the next comes
    autopay_on(t, http, stack.sim_url)

    def failures(n: int) -> list[dict[str, Any]] | None:
        found = [
            p
            for p in autopay_payments(invoice_of(billing(t), due["id"]))
            if p["status"] == "FAILED"
        ]
        return found if len(found) >= n else None

    assert eventually(lambda: failures(1))
    failed = eventually(lambda: [n for n in autopay_notes(t.tenant) if "failed" in n["title"]])
    assert len(failed) == 1
    assert "tried again" in failed[0]["body"] and "(1 of 3)" in failed[0]["body"]

    # when a day passes, twice: two more tries, the last one said to be the last
    api.move_clock(DAY_S + 60)
    assert eventually(lambda: failures(2))
    api.move_clock(2 * DAY_S + 120)
    third = eventually(lambda: failures(3))
    assert third is not None
    assert all(p["failureCode"] == "PAYMENT_DECLINED" for p in third)

    def told() -> list[str]:
        return [n["body"] for n in autopay_notes(t.tenant) if "failed" in n["title"]]

    bodies = eventually(lambda: len(told()) == 3 and told())
    assert bodies and "last try" in bodies[0]

    # then autopay has nothing more to try: no fourth try, the invoice waits for the tenant
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "succeed"})
    assert eventually(lambda: billing(t)["autopay"]["nextChargeAt"] is None)
    invoice = invoice_of(billing(t), due["id"])
    assert [p["status"] for p in autopay_payments(invoice)] == ["FAILED"] * 3
    assert invoice["paidFen"] == 0
    assert len([c for c in charges(http, stack.sim_url) if c["agreementId"]]) == 3
    # and the tenant pays it in the app
    assert pay(t.tenant, due["id"], due["amountFen"])["invoice"]["status"] == "PAID"


# --- stopping --------------------------------------------------------------------------------


def test_a_stopped_autopay_charges_nothing_more_and_a_charge_in_flight_settles_once(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given autopay whose first charge the provider holds
    t = from_today(api, months_ahead=2)
    due = t.invoices[0]
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "hold"})
    agreement = autopay_on(t, http, stack.sim_url)
    held = eventually(
        lambda: [c for c in charges(http, stack.sim_url) if c["agreementId"] == agreement]
    )
    assert [c["status"] for c in held] == ["pending"]

    # when the tenant stops autopay
    stopped = set_autopay(t.tenant, t.lease["id"], None)

    # then it is stopped, and the agreement cancelled at the provider
    assert stopped["userErrors"] == []
    assert stopped["lease"]["autopay"]["status"] == "STOPPED"
    assert stopped["lease"]["autopay"]["stopReason"] == "TENANT"
    assert [a["status"] for a in agreements(http, stack.sim_url)] == ["cancelled"]

    # when the charge in flight succeeds
    settle = f"/sim/payments/{held[0]['chargeId']}/settle"
    sim_post(http, stack.sim_url, settle, {"status": "succeeded"})

    # then it is credited once
    invoice = invoice_of(billing(t), due["id"])
    assert (invoice["paidFen"], invoice["status"]) == (due["amountFen"], "PAID")
    assert [p["status"] for p in autopay_payments(invoice)] == ["SUCCEEDED"]

    # when the next invoices fall due
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "succeed"})
    api.move_clock((days_until(t.invoices[2]["dueDate"]) + 1) * DAY_S)
    later = t.invoices[1]
    assert eventually(lambda: invoice_of(billing(t), later["id"])["status"] == "OVERDUE")

    # then nothing more is charged
    assert len(charges(http, stack.sim_url)) == 1
    others = [e["node"] for e in billing(t)["invoices"]["edges"] if e["node"]["id"] != due["id"]]
    assert all(autopay_payments(i) == [] for i in others)
    # and stopping again changes nothing
    assert set_autopay(t.tenant, t.lease["id"], None)["lease"]["autopay"]["status"] == "STOPPED"


def test_cancelling_in_the_wallet_stops_autopay_and_tells_the_tenant(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given autopay on, with nothing due yet
    t = from_today(api, months_ahead=2)
    record(t.landlord, t.invoices[0]["id"], t.invoices[0]["amountFen"])
    agreement = autopay_on(t, http, stack.sim_url)

    # when the tenant cancels the agreement in their wallet app
    sim_post(http, stack.sim_url, f"/sim/agreements/{agreement}/cancel")

    # then autopay is stopped, and the tenant told
    autopay = billing(t)["autopay"]
    assert (autopay["status"], autopay["stopReason"]) == ("STOPPED", "WALLET")
    titles = [n["title"] for n in autopay_notes(t.tenant)]
    assert any(title.endswith("Autopay stopped") for title in titles)

    # and when the next invoice falls due nothing is charged
    api.move_clock((days_until(t.invoices[1]["dueDate"]) + 1) * DAY_S)
    assert eventually(lambda: invoice_of(billing(t), t.invoices[1]["id"])["status"] == "OVERDUE")
    assert charges(http, stack.sim_url) == []

    # and turning it on again makes a new agreement to sign
    again = set_autopay(t.tenant, t.lease["id"], "WECHAT_PAY")["lease"]["autopay"]
    assert again["status"] == "PENDING"
    assert len(agreements(http, stack.sim_url)) == 2


def test_autopay_ends_with_the_lease(api: Api, http: httpx.Client, stack: Stack) -> None:
    # given autopay on
    t = from_today(api, months_ahead=3)
    record(t.landlord, t.invoices[0]["id"], t.invoices[0]["amountFen"])
    autopay_on(t, http, stack.sim_url)

    # when the landlord ends the lease today
    ended = t.landlord.data(
        END_LEASE, {"input": {"leaseId": t.lease["id"], "moveOutDate": today().isoformat()}}
    )["endLease"]
    assert ended["userErrors"] == []

    # then autopay is stopped, its agreement cancelled, and the tenant told
    autopay = billing(t)["autopay"]
    assert (autopay["status"], autopay["stopReason"]) == ("STOPPED", "LEASE_ENDED")
    assert [a["status"] for a in agreements(http, stack.sim_url)] == ["cancelled"]
    assert any("ended" in n["body"] for n in autopay_notes(t.tenant))
    # and it cannot be turned on again
    refused = set_autopay(t.tenant, t.lease["id"], "WECHAT_PAY")
    assert codes(refused) == ["LEASE_NOT_ACTIVE"]


# --- turning it on ---------------------------------------------------------------------------


def test_the_same_method_again_keeps_the_agreement_and_another_replaces_it(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given autopay asked for, not signed yet
    t = from_today(api, months_ahead=2)
    record(t.landlord, t.invoices[0]["id"], t.invoices[0]["amountFen"])
    first = set_autopay(t.tenant, t.lease["id"], "WECHAT_PAY")["lease"]["autopay"]

    # when the app asks again with the same method
    again = set_autopay(t.tenant, t.lease["id"], "WECHAT_PAY")["lease"]["autopay"]

    # then it is the same agreement, still to sign; the landlord sees its status, not the link
    assert again["signUrl"] == first["signUrl"]
    assert len(agreements(http, stack.sim_url)) == 1
    landlords = billing(t, t.landlord)["autopay"]
    assert (landlords["status"], landlords["signUrl"]) == ("PENDING", None)

    # when the tenant switches to Alipay
    other = set_autopay(t.tenant, t.lease["id"], "ALIPAY")["lease"]["autopay"]

    # then the first agreement is cancelled and a new one waits, which the tenant signs
    assert (other["method"], other["status"]) == ("ALIPAY", "PENDING")
    assert sorted(a["status"] for a in agreements(http, stack.sim_url)) == ["cancelled", "pending"]
    sign(http, stack.sim_url, other["signUrl"])
    assert (billing(t)["autopay"]["method"], billing(t)["autopay"]["status"]) == (
        "ALIPAY",
        "ACTIVE",
    )


def test_set_autopay_refusals(api: Api, http: httpx.Client, stack: Stack) -> None:
    # given a tenancy and another tenant with their own
    t = from_today(api)
    other = from_today(api)

    # then offline methods, another's lease and bad ids are refused
    assert codes(set_autopay(t.tenant, t.lease["id"], "CASH")) == ["INVALID_METHOD"]
    assert codes(set_autopay(t.tenant, t.lease["id"], "DEPOSIT")) == ["INVALID_METHOD"]
    assert codes(set_autopay(other.tenant, t.lease["id"], "WECHAT_PAY")) == ["NOT_FOUND"]
    assert codes(set_autopay(t.tenant, t.invoices[0]["id"], "WECHAT_PAY")) == ["INVALID_ID"]
    # and a provider that is down sets nothing up
    sim_post(http, stack.sim_url, "/sim/payments/down")
    assert codes(set_autopay(t.tenant, t.lease["id"], "WECHAT_PAY")) == ["PAYMENT_PROVIDER_ERROR"]
    assert billing(t)["autopay"]["status"] == "STOPPED"
    sim_post(http, stack.sim_url, "/sim/payments/up")
    assert set_autopay(t.tenant, t.lease["id"], "WECHAT_PAY")["userErrors"] == []
    # and nobody else sees the tenant's autopay
    stranger = api.caller("LANDLORD")
    assert stranger.data("query($id: ID!) { node(id: $id) { id } }", {"id": t.lease["id"]}) == {
        "node": None
    }


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("LANDLORD", "FORBIDDEN"),
        ("POLICE", "FORBIDDEN"),
        ("RESPONDER", "FORBIDDEN"),
        ("ADMIN", "FORBIDDEN"),
        ("ANONYMOUS", "UNAUTHENTICATED"),
    ],
)
def test_only_the_tenant_sets_autopay(api: Api, role: str, code: str) -> None:
    t = from_today(api)
    caller = {"LANDLORD": t.landlord, "ANONYMOUS": api.anonymous()}.get(role) or api.caller(role)
    from tests.billing_support import SET_AUTOPAY

    variables = {"input": {"leaseId": t.lease["id"], "method": "WECHAT_PAY"}}
    assert caller.errors(SET_AUTOPAY, variables) == [code]
    assert billing(t)["autopay"] is None
