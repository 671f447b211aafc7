"""The limits on authentication abuse, with production-like settings (issue 18): per client
address, per phone, overall, the code cooldown, the bound on concurrent password checks, and
the client's address read only as far as the trusted proxies vouch for it.

The test stack's own Anju is generous (an automated run from one address must never trip it);
these tests start a second Anju on the same database and simulator, behind one trusted proxy
and with small limits, and reach it as clients at different addresses."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.sim_sms import messages
from tests.conftest import ADMIN_PASSWORD, ADMIN_PHONE, Stack, another_anju
from tests.support import LOG_IN, REQUEST_CODE, Api, Caller, next_phone

PER_ADDRESS, PER_PHONE, OVERALL = 4, 6, 12
STRICT = {
    "ANJU_TRUSTED_PROXIES": "1",
    "ANJU_AUTH_ATTEMPTS_PER_ADDRESS": str(PER_ADDRESS),
    "ANJU_AUTH_ATTEMPTS_PER_PHONE": str(PER_PHONE),
    "ANJU_AUTH_ATTEMPTS_OVERALL": str(OVERALL),
    "ANJU_PHONE_CODE_COOLDOWN_S": "60",
    "ANJU_PHONE_CODES_PER_HOUR": "5",
    # one password check at a time, each a costly one (the hashes this Anju makes)
    "ANJU_PASSWORD_CHECKS_PER_WORKER": "1",
    "ANJU_PASSWORD_HASH_MEMORY_KIB": str(128 * 1024),
}


@pytest.fixture(scope="module")
def strict_url(stack: Stack) -> Iterator[str]:
    with another_anju(stack, STRICT, "strict") as url:
        yield url


@pytest.fixture
def clients(api: Api, strict_url: str) -> Iterator[Any]:
    """`at(address)`: the strict Anju as reached by a client at `address` (the trusted proxy
    appends it to X-Forwarded-For)."""
    opened: list[httpx.Client] = []

    def at(address: str, claimed: str | None = None) -> Api:
        forwarded = f"{claimed}, {address}" if claimed else address
        client = httpx.Client(timeout=60, headers={"x-forwarded-for": forwarded})
        opened.append(client)
        return Api(strict_url, client, ADMIN_PHONE, ADMIN_PASSWORD, api.sim_url)

    yield at
    for client in opened:
        client.close()


def log_in_codes(api: Api, phone: str, password: str) -> list[str]:
    body = Caller(api).post(LOG_IN, {"input": {"phone": phone, "password": password}})
    if body.get("errors"):
        return [e["extensions"]["code"] for e in body["errors"]]
    return [e["code"] for e in body["data"]["logIn"]["userErrors"]]


def test_one_address_is_held_to_its_attempts_whatever_it_claims(clients: Any) -> None:
    # given a client that spends its attempts on phones of its choosing
    spray = clients("203.0.113.7")
    for _ in range(PER_ADDRESS):
        assert log_in_codes(spray, next_phone(), "Summer2026!") == ["INVALID_CREDENTIALS"]
    # then its next one is refused, and writing another address in front of its own
    # (X-Forwarded-For) does not help: only the trusted proxy's entry counts
    assert log_in_codes(spray, next_phone(), "Summer2026!") == ["RATE_LIMITED"]
    spoofed = clients("203.0.113.7", claimed="198.51.100.1")
    assert log_in_codes(spoofed, next_phone(), "Summer2026!") == ["RATE_LIMITED"]
    # while a client at another address is served
    assert log_in_codes(clients("203.0.113.8"), next_phone(), "x") == ["INVALID_CREDENTIALS"]


def test_one_phone_is_held_to_its_attempts_from_any_address(clients: Any) -> None:
    # given an account (its code and its sign-up: two attempts on its phone)
    owner = clients("203.0.113.20").sign_up("TENANT")
    phone, password = owner.phone or "", owner.password or ""
    # when it is logged in to from ever new addresses, up to the phone's limit
    for n in range(PER_PHONE - 2):
        assert log_in_codes(clients(f"203.0.113.{30 + n}"), phone, password) == []
    # then the next attempt on that phone is refused, from wherever it comes
    assert log_in_codes(clients("203.0.113.99"), phone, password) == ["RATE_LIMITED"]


def test_the_service_as_a_whole_is_held_to_its_attempts(clients: Any) -> None:
    # given clients at three addresses that use all their attempts (the overall limit)
    for n in range(OVERALL // PER_ADDRESS):
        client = clients(f"198.51.100.{n + 1}")
        for _ in range(PER_ADDRESS):
            assert log_in_codes(client, next_phone(), "guess") == ["INVALID_CREDENTIALS"]
    # then a fresh address with a fresh phone is refused too, until the window ends
    assert log_in_codes(clients("198.51.100.200"), next_phone(), "guess") == ["RATE_LIMITED"]


def test_a_second_code_within_the_cooldown_is_refused_and_not_sent(api: Api, clients: Any) -> None:
    client = clients("203.0.113.50")
    phone = next_phone()
    client.phone_code(phone)
    again = Caller(client).refused(
        "requestPhoneCode", REQUEST_CODE, {"input": {"phone": phone, "purpose": "SIGN_UP"}}
    )
    assert again == ["RATE_LIMITED"]
    assert len(messages(api.client, api.sim_url, phone)) == 1


def test_password_checks_beyond_the_bound_are_refused_not_queued(clients: Any) -> None:
    # given an account whose password hash is costly to check (this Anju's settings)
    owner = clients("203.0.113.60").sign_up("TENANT")
    given = {"input": {"phone": owner.phone, "password": owner.password}}
    base = owner.api.base_url

    # when it logs in four times at once, from four addresses (one check at a time is allowed)
    async def one(n: int) -> list[str]:
        headers = {"x-forwarded-for": f"203.0.113.{70 + n}"}
        async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as client:
            body = (
                await client.post("/graphql", json={"query": LOG_IN, "variables": given})
            ).json()
        if body.get("errors"):
            return [e["extensions"]["code"] for e in body["errors"]]
        return [e["code"] for e in body["data"]["logIn"]["userErrors"]]

    async def main() -> list[list[str]]:
        return await asyncio.gather(*(one(n) for n in range(4)))

    answers = asyncio.run(main())
    # then some are let in and the rest are told at once to try again, none queued
    assert [] in answers and ["RATE_LIMITED"] in answers, answers
    assert all(a in ([], ["RATE_LIMITED"]) for a in answers), answers
