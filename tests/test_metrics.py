"""/metrics as an operator's Prometheus reads it: after a day's kind of traffic (doors opened,
webhooks, an alarm to a subscriber, the card outbox backing up while the gateway is down),
each metric of README's "Metrics and alerts" is there with a plausible value."""

from __future__ import annotations

from collections import defaultdict

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Stack
from tests.door_support import building, event, open_door, send_webhook, start_lease
from tests.support import Api, Caller, Subscription, eventually, sim_post

RAISED = "subscription { alarmRaised { id status } }"
ME = "query Me { me { id } }"
NOBODY = 'query FindNobody { node(id: "QWNjb3VudDo2NWYwMDAwMDAwMDAwMDAwMDAwMDAwMDA=") { id } }'

Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(http: httpx.Client, base_url: str, token: str | None = None) -> Samples:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = http.get(f"{base_url}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    found: Samples = defaultdict(list)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[sample.name].append((dict(sample.labels), sample.value))
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(
        v for got, v in samples.get(name, []) if all(got.get(k) == w for k, w in labels.items())
    )


def test_metrics_after_a_days_traffic(api: Api, http: httpx.Client, stack: Stack) -> None:
    # given a landlord's building with a tenant whose lease is live, a responder listening
    # for alarms, doors opened, a bad token, a missing node, and webhooks of each verdict
    landlord = api.caller("LANDLORD")
    tenant = api.caller("TENANT")
    home = building(landlord)
    start_lease(landlord, home.room_id, tenant)
    assert open_door(tenant, home.door_id)["command"]["status"] == "OPENED"
    tenant.data(ME)
    Caller(api, token="not-a-token").post(ME)
    assert tenant.data(NOBODY)["node"] is None
    send_webhook(
        http,
        stack.sim_url,
        event("door.opened", home.door_device, {"commandId": None}),
        signature="bad",
    )
    sim_post(http, stack.sim_url, f"/sim/doors/{home.door_device}/swipe", {"cardNumber": "0"})
    with Subscription(api.base_url, RAISED, landlord.token) as alarms:
        before = scrape(http, api.base_url)
        sim_post(
            http, stack.sim_url, f"/sim/smoke/{home.detector_device}/alarm", {"level": "smoke"}
        )
        assert alarms.next(10) is not None
        # and, with the gateway down, a second tenant moving in: their cards wait
        sim_post(http, stack.sim_url, "/sim/gateway/offline")
        try:
            start_lease(landlord, home.other_room_id, api.caller("TENANT"))
            # when the operator's Prometheus scrapes
            during = scrape(http, api.base_url)
        finally:
            sim_post(http, stack.sim_url, "/sim/gateway/online")

    # then requests are counted by operation and outcome, with their latency
    assert value(during, "anju_requests_total", operation="Me", outcome="ok") >= 1
    assert value(during, "anju_requests_total", operation="Me", outcome="refused") >= 1
    assert value(during, "anju_requests_total", operation="startLease", outcome="ok") >= 2
    assert value(during, "anju_request_duration_seconds_count", operation="openDoor") >= 1
    assert value(during, "anju_request_duration_seconds_sum", operation="openDoor") > 0
    # GraphQL errors by code
    assert value(during, "anju_graphql_errors_total", code="UNAUTHENTICATED") >= 1
    # database round trips and their latency
    assert value(during, "anju_db_commands_total", command="insert", outcome="ok") >= 1
    assert value(during, "anju_db_command_duration_seconds_count", command="find") >= 1
    # door commands by outcome
    assert value(during, "anju_door_commands_total", outcome="OPENED") >= 1
    assert value(during, "anju_door_command_duration_seconds_count") >= 1
    # the card outbox backs up while the gateway is down; the SMS outbox is measured too
    assert value(during, "anju_outbox_pending", outbox="cards") >= 1
    assert value(during, "anju_outbox_oldest_age_seconds", outbox="cards") > 0
    assert value(during, "anju_outbox_pending", outbox="sms") >= 0
    # webhooks by type and verdict
    assert value(during, "anju_webhooks_total", source="gateway", verdict="unsigned") >= 1
    assert value(during, "anju_webhooks_total", source="gateway", type="door.card") >= 1
    assert value(during, "anju_webhooks_total", type="smoke.alarm", verdict="processed") >= 1
    # the alarm reached its subscriber, and the time it took is measured
    assert value(during, "anju_subscription_delivery_seconds_count", feed="alarms") >= 1
    assert value(before, "anju_subscriptions_active", feed="alarms") >= 1
    # background passes: how long they take and when each last succeeded
    for worker in ("cards", "sms", "rent"):
        assert value(during, "anju_background_pass_duration_seconds_count", worker=worker) >= 1
        assert value(during, "anju_background_last_success_timestamp_seconds", worker=worker) > 0

    # and once the gateway is back, the outbox drains and the figure says so
    def drained() -> bool:
        return value(scrape(http, api.base_url), "anju_outbox_pending", outbox="cards") == 0

    assert eventually(drained, within=60)
    after = scrape(http, api.base_url)
    assert value(after, "anju_subscriptions_active", feed="alarms") == 0
