"""A property-based run of rent: random online and offline payments (amounts in and out of
range, keys new and repeated), provider behaviour (succeed, fail, hold; held charges settled
either way, replays, contradicting and duplicated events), autopay turned on, signed and
stopped, days passing (late fees, charges falling due, retries), meter readings, waived late
fees, and the lease ended with its deposit settled. After every step, once the workers are
still: each invoice's paidFen is the sum of its SUCCEEDED payments and never above its amount,
its lines add up to its amount, no invoice is paid by autopay twice, a late fee stays under its
cap, the landlord was told once per online payment, the deposit settlement adds up, and the
rent roll adds up, by kind too."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.billing_support import (
    DAY_S,
    RECORD_READING,
    SET_RATES,
    SETTLE,
    WAIVE,
    billing,
    from_today,
    set_autopay,
    sign,
)
from tests.conftest import Stack
from tests.lease_support import END_LEASE
from tests.rent_support import charges, codes, events, key, notifications, pay, record, today
from tests.support import Api, eventually, sim_post

ROLL = """query($month: String!) { rentRoll(month: $month) { month
  expectedFen collectedFen outstandingFen pendingFen
  collectedByKind { kind amountFen } outstandingByKind { kind amountFen } } }"""
POLICY = {"graceDays": 0, "dailyRateBasisPoints": 100, "capBasisPoints": 1_000}
MAX_DAYS = 12


def expected_status(invoice: dict[str, Any], day: dt.date) -> str:
    if invoice["paidFen"] >= invoice["amountFen"]:
        return "PAID"
    if invoice["dueDate"] < day.isoformat():
        return "OVERDUE"
    return "PARTIALLY_PAID" if invoice["paidFen"] else "OPEN"


def test_random_rent_always_adds_up(api: Api, http: httpx.Client, stack: Stack) -> None:
    class Rent(RuleBasedStateMachine):
        @initialize()
        def lease(self) -> None:
            sim_post(http, stack.sim_url, "/sim/reset")
            api.move_clock(0)
            self.days = 0
            self.t = from_today(
                api, months_ahead=1, rent=10_000, deposit=5_000, lateFeePolicy=POLICY
            )
            rates = {
                "roomId": self.t.room,
                "waterFenPerCubicMetre": 500,
                "electricityFenPerKwh": 80,
            }
            self.t.landlord.mutate("setMeterRates", SET_RATES, {"input": rates})
            self.meter = {"WATER": 0.0, "ELECTRICITY": 0.0}
            self.read_minutes = 600.0  # readings go forward in time, from 10 hours ago
            self.ended = False
            # (who, invoice id, amount, key, method) of every request made, for repeats
            self.requests: list[tuple[str, str, int, str, str]] = []
            self.payment_of_key: dict[str, str] = {}

        # --- payments, as in the first version of this machine ---------------------------

        def _request(
            self, who: str, index: int, amount: int, method: str, repeat: int
        ) -> tuple[str, str, int, str, str]:
            own = [r for r in self.requests if r[0] == who]
            if repeat >= 0 and own:
                return own[repeat % len(own)]
            invoice = self.t.invoices[index % len(self.t.invoices)]
            request = (who, invoice["id"], amount, key(), method)
            self.requests.append(request)
            return request

        def _check_key(self, request: tuple[str, ...], answer: dict[str, Any]) -> None:
            assert "IDEMPOTENCY_CONFLICT" not in codes(answer)  # repeats are exact
            if answer["payment"]:
                first = self.payment_of_key.setdefault(request[3], answer["payment"]["id"])
                assert first == answer["payment"]["id"], "one key, one payment"

        @rule(
            index=st.integers(0, 3),
            amount=st.integers(-10, 11_000),
            method=st.sampled_from(["WECHAT_PAY", "ALIPAY"]),
            repeat=st.integers(-3, 5),
        )
        def pay_online(self, index: int, amount: int, method: str, repeat: int) -> None:
            request = self._request("tenant", index, amount, method, repeat)
            _, invoice_id, amount, k, method = request
            self._check_key(request, pay(self.t.tenant, invoice_id, amount, k, method))

        @rule(
            index=st.integers(0, 3),
            amount=st.integers(-10, 11_000),
            method=st.sampled_from(["CASH", "BANK_TRANSFER"]),
            repeat=st.integers(-3, 5),
        )
        def record_offline(self, index: int, amount: int, method: str, repeat: int) -> None:
            request = self._request("landlord", index, amount, method, repeat)
            _, invoice_id, amount, k, method = request
            self._check_key(request, record(self.t.landlord, invoice_id, amount, k, method))

        @rule(mode=st.sampled_from(["succeed", "fail", "hold"]))
        def provider_mode(self, mode: str) -> None:
            sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": mode})

        @rule(pick=st.integers(0, 20), outcome=st.sampled_from(["succeeded", "failed"]))
        def settle(self, pick: int, outcome: str) -> None:
            known = charges(http, stack.sim_url)
            if known:  # held or not: settling a settled charge again is the reordering case
                charge = known[pick % len(known)]
                url = f"/sim/payments/{charge['chargeId']}/settle"
                assert sim_post(http, stack.sim_url, url, {"status": outcome})["anjuStatus"] == 200

        @rule(pick=st.integers(0, 50), fresh=st.booleans())
        def replay(self, pick: int, fresh: bool) -> None:
            sent = [
                e
                for e in events(http, stack.sim_url)
                if isinstance(e["body"], dict) and (fresh or e["eventId"])
            ]
            if not sent:
                return
            event = sent[pick % len(sent)]
            if fresh:  # the same news under a new event id
                body = {**event["body"], "eventId": key()}
                given = {"target": "payments", "body": json.dumps(body)}
                answer = sim_post(http, stack.sim_url, "/sim/webhooks/send", given)
            else:
                replay = {"eventId": event["eventId"]}
                answer = sim_post(http, stack.sim_url, "/sim/events/replay", replay)
            assert answer["anjuStatus"] in (200, 404)

        # --- autopay, time, meters, late fees, the deposit ---------------------------------

        @rule(method=st.sampled_from(["WECHAT_PAY", "ALIPAY", None]), signs=st.booleans())
        def autopay(self, method: str | None, signs: bool) -> None:
            answer = set_autopay(self.t.tenant, self.t.lease["id"], method)
            if self.ended:
                assert codes(answer) in ([], ["LEASE_NOT_ACTIVE"])
                return
            assert codes(answer) == [], answer
            autopay = answer["lease"]["autopay"]
            if method and signs and autopay["status"] == "PENDING":
                assert sign(http, stack.sim_url, autopay["signUrl"])["anjuStatus"] == 200

        @rule(days=st.integers(1, 3))
        def days_pass(self, days: int) -> None:
            if self.days + days <= MAX_DAYS:
                self.days += days
                api.move_clock(self.days * DAY_S)

        @rule(kind=st.sampled_from(["WATER", "ELECTRICITY"]), used=st.integers(0, 40))
        def read_meter(self, kind: str, used: int) -> None:
            self.meter[kind] += used / 4
            self.read_minutes -= 5
            at = dt.datetime.now(dt.UTC) + dt.timedelta(days=self.days, minutes=-self.read_minutes)
            given = {
                "roomId": self.t.room,
                "kind": kind,
                "value": self.meter[kind],
                "readAt": at.isoformat(),
            }
            answer = self.t.landlord.data(RECORD_READING, {"input": given})["recordMeterReading"]
            assert codes(answer) == [], answer

        @rule(index=st.integers(0, 3))
        def waive(self, index: int) -> None:
            invoice = self.t.invoices[index % len(self.t.invoices)]
            given = {"invoiceId": invoice["id"], "reason": "goodwill"}
            answer = self.t.landlord.data(WAIVE, {"input": given})["waiveLateFee"]
            assert codes(answer) in ([], ["NOTHING_TO_WAIVE"])

        @rule(damage=st.integers(1, 6_000))
        def end_and_settle(self, damage: int) -> None:
            if self.ended:
                return
            day = (today() + dt.timedelta(days=self.days)).isoformat()
            move_out = {"leaseId": self.t.lease["id"], "moveOutDate": day}
            assert codes(self.t.landlord.data(END_LEASE, {"input": move_out})["endLease"]) == []
            self.ended = True
            given = {
                "leaseId": self.t.lease["id"],
                "refundMethod": "CASH",
                "deductions": [{"reason": "damage", "amountFen": damage}],
            }
            answer = self.t.landlord.data(SETTLE, {"input": given})["settleDeposit"]
            assert codes(answer) in (
                [],
                ["DEDUCTIONS_EXCEED_DEPOSIT"],
                ["DEPOSIT_PAYMENT_PENDING"],
            ), answer

        # --- what always holds ---------------------------------------------------------

        def _snapshot(self) -> tuple[Any, ...]:
            lease = billing(self.t, self.t.landlord)
            months = sorted({e["node"]["periodStart"][:7] for e in lease["invoices"]["edges"]})
            rolls = [self.t.landlord.data(ROLL, {"month": m})["rentRoll"] for m in months]
            told = [n for n in notifications(self.t.landlord) if n["kind"] == "PAYMENT_RECEIVED"]
            return lease, rolls, len(told)

        def _still(self) -> tuple[Any, ...] | None:
            """A snapshot taken twice the same: the workers are done with what was asked."""
            first = self._snapshot()
            return first if first == self._snapshot() else None

        @invariant()
        def adds_up(self) -> None:
            if not hasattr(self, "t"):
                return
            still = eventually(self._still, within=60)
            assert still is not None, "the workers never came to rest"
            lease, rolls, told = still
            day = today() + dt.timedelta(days=self.days)
            invoices = [e["node"] for e in lease["invoices"]["edges"]]
            online = 0
            for invoice in invoices:
                payments = invoice["payments"]
                succeeded = [p for p in payments if p["status"] == "SUCCEEDED"]
                assert invoice["paidFen"] == sum(p["amountFen"] for p in succeeded), invoice
                assert 0 <= invoice["paidFen"] <= invoice["amountFen"], invoice
                assert sum(x["amountFen"] for x in invoice["lines"]) == invoice["amountFen"]
                assert len([p for p in succeeded if p["autopay"]]) <= 1, invoice
                if invoice["status"] != "VOID":
                    assert invoice["status"] == expected_status(invoice, day), invoice
                rent = sum(x["amountFen"] for x in invoice["lines"] if x["kind"] == "RENT")
                fees = sum(x["amountFen"] for x in invoice["lines"] if x["kind"] == "LATE_FEE")
                assert fees <= rent * POLICY["capBasisPoints"] // 10_000, invoice
                online += sum(1 for p in succeeded if p["method"] in ("WECHAT_PAY", "ALIPAY"))
            assert told == online
            # what the run reached (pytest --hypothesis-show-statistics)
            lines = {x["kind"] for i in invoices for x in i["lines"]}
            event(f"late fee: {'LATE_FEE' in lines}, meter lines: {'WATER' in lines}")
            made = sum(1 for i in invoices for p in i["payments"] if p["autopay"])
            event(f"autopay charges: {min(made, 2)}")
            deposit = [i for i in invoices if i["kind"] == "DEPOSIT"]
            assert lease["depositPaidFen"] == sum(i["paidFen"] for i in deposit)
            settlement = lease["depositSettlement"]
            event(f"deposit settled: {bool(settlement)}")
            if settlement:
                taken = sum(d["amountFen"] for d in settlement["deductions"])
                assert settlement["heldFen"] == taken + settlement["refundedFen"]
                assert settlement["refundedFen"] >= 0
            live = [i for i in invoices if i["status"] != "VOID"]
            for roll in rolls:
                month = [i for i in live if i["periodStart"][:7] == roll["month"]]
                assert roll["expectedFen"] == sum(i["amountFen"] for i in month)
                assert roll["collectedFen"] == sum(i["paidFen"] for i in month)
                assert roll["pendingFen"] == sum(
                    p["amountFen"] for i in month for p in i["payments"] if p["status"] == "PENDING"
                )
                by_kind_collected = sum(k["amountFen"] for k in roll["collectedByKind"])
                by_kind_outstanding = sum(k["amountFen"] for k in roll["outstandingByKind"])
                assert by_kind_collected == roll["collectedFen"]
                assert by_kind_outstanding == roll["outstandingFen"]
                assert roll["expectedFen"] == roll["collectedFen"] + roll["outstandingFen"]

    run_state_machine_as_test(
        Rent,
        settings=settings(
            max_examples=20,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
        ),
    )
