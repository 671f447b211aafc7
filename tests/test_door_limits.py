"""The limits of issue 19 with production-like settings: failed device claims per landlord,
visitor passes per issuer and day. The test stack's own Anju is generous; these tests start a
second Anju on the same database and simulator with small limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_PHONE, Stack, another_anju
from tests.door_support import REGISTER, uid
from tests.lease_support import make_home, person, start_lease
from tests.pass_support import ISSUE_PASS, claims, pass_input
from tests.support import Api, Caller, label_code
from tests.test_properties import create_property

FAILURES, PASSES_A_DAY = 3, 2
STRICT = {
    "ANJU_DEVICE_CLAIM_FAILURES": str(FAILURES),
    "ANJU_VISITOR_PASSES_PER_DAY": str(PASSES_A_DAY),
}


@pytest.fixture(scope="module")
def strict_url(stack: Stack) -> Iterator[str]:
    with another_anju(stack, STRICT, "door-limits") as url:
        yield url


@pytest.fixture
def strict(api: Api, strict_url: str) -> Api:
    return Api(strict_url, api.client, ADMIN_PHONE, ADMIN_PASSWORD, api.sim_url)


def claim(landlord: Caller, prop: str, device: str, code: str) -> list[str]:
    """The codes of a registration's refusal (a limit is a GraphQL error, a refusal a user
    error), empty when it binds."""
    given = {"kind": "DOOR", "deviceId": device, "name": "x", "propertyId": prop, "claimCode": code}
    body = landlord.post(REGISTER, {"input": given})
    if body.get("errors"):
        return [e["extensions"]["code"] for e in body["errors"]]
    return [e["code"] for e in body["data"]["registerDevice"]["userErrors"]]


def test_failed_claims_are_limited_per_landlord(
    strict: Api, http: httpx.Client, stack: Any
) -> None:
    # given a landlord who has guessed wrong as often as allowed
    guesser = strict.caller("LANDLORD")
    prop = create_property(guesser)["id"]
    target = uid("door")
    for guess in ("AAAA2222", "BBBB3333", "CCCC4444")[:FAILURES]:
        assert claim(guesser, prop, target, guess) == ["DEVICE_CLAIM_FAILED"]

    # when they try again, even with the right code
    codes = claim(guesser, prop, target, label_code(strict, target))

    # then they are refused before the platform is asked, and nothing is claimed
    assert codes == ["RATE_LIMITED"]
    assert target not in claims(http, stack.sim_url)
    # another landlord is not held to the guesser's failures, and successes cost nothing
    owner = strict.caller("LANDLORD")
    theirs = create_property(owner)["id"]
    for _ in range(FAILURES + 1):
        device = uid("door")
        assert claim(owner, theirs, device, label_code(strict, device)) == []
    assert claim(owner, theirs, uid("door"), "ZZZZ9999") == ["DEVICE_CLAIM_FAILED"]


def test_visitor_passes_are_limited_per_issuer_and_day(strict: Api) -> None:
    # given a tenant who has let in as many visitors as a day allows
    landlord = strict.caller("LANDLORD")
    home = make_home(landlord)
    tenant = strict.caller("TENANT")
    start_lease(landlord, home.room, tenant, occupants=[person(phone=tenant.phone)])
    for _ in range(PASSES_A_DAY):
        tenant.mutate("issueVisitorPass", ISSUE_PASS, {"input": pass_input(home.room)})

    # when they issue one more
    codes = tenant.errors(ISSUE_PASS, {"input": pass_input(home.room)})

    # then it is refused (no code, no text message), while the landlord still issues theirs
    assert codes == ["RATE_LIMITED"]
    landlord.mutate("issueVisitorPass", ISSUE_PASS, {"input": pass_input(home.room)})
