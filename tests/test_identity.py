"""Identity you can trust: an account belongs to whoever holds its phone, a lease reaches only
an account that accepted it, and sessions end (issue 18). Through the API, the phones read
through the simulator's SMS inbox."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from devstack.sim_sms import messages
from tests.conftest import Stack
from tests.door_support import building, open_door
from tests.lease_support import START_LEASE, lease_input, make_home
from tests.support import (
    ACCEPT_LEASE,
    LOG_IN,
    LOG_IN_WITH_CODE,
    ME,
    REFRESH,
    REQUEST_CODE,
    SIGN_UP,
    Api,
    Caller,
    Subscription,
    eventually,
    next_phone,
)

PASSWORD = "correct horse battery"
RESET = """mutation($input: ResetPasswordInput!) { resetPassword(input: $input) {
  accessToken refreshToken account { id } userErrors { field code } } }"""
CHANGE = """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
  accessToken refreshToken userErrors { field code } } }"""
EVERYWHERE = """mutation($input: LogOutEverywhereInput!) { logOutEverywhere(input: $input) {
  ok userErrors { code } } }"""
SET_STATUS = """mutation($input: SetAccountStatusInput!) { setAccountStatus(input: $input) {
  account { id status } userErrors { field code } } }"""
SET_SCOPE = """mutation($input: UpdateAccountScopeInput!) { updateAccountScope(input: $input) {
  account { id scope { town community grid } } userErrors { field code } } }"""
ACCOUNTS = """query($role: Role, $phone: String, $status: AccountStatus) {
  accounts(role: $role, phone: $phone, status: $status) { totalCount
    edges { node { id role phone status scope { town } } } } }"""
NOTES = "{ notifications(first: 20) { edges { node { kind title } } } }"
LEASE = """query($id: ID!) { node(id: $id) { ... on Lease { id invitedPhone tenantAcceptedAt
  tenant { id name phone } occupants { name } invoices(first: 3) { totalCount } } } }"""
MY_LEASES = """{ myLeases { id tenantAcceptedAt occupants { name }
  invoices(first: 3) { totalCount edges { node { id } } } } }"""
AUDIT = "{ auditLog(first: 20) { edges { node { action target reason } } } }"
RESEND = """mutation($input: ResendLeaseInvitationInput!) {
  resendLeaseInvitation(input: $input) { lease { id invitedPhone } userErrors { code } } }"""


def sign_up(api: Api, phone: str, code: str | None, role: str = "TENANT") -> list[str]:
    given = {"role": role, "name": "小李", "phone": phone, "password": PASSWORD}
    if code is not None:
        given["phoneCode"] = code
    payload = api.anonymous().data(SIGN_UP, {"input": given})["signUp"]
    return [e["code"] for e in payload["userErrors"]]


def log_in(api: Api, phone: str, password: str = PASSWORD) -> dict[str, Any]:
    payload: dict[str, Any] = api.anonymous().data(
        LOG_IN, {"input": {"phone": phone, "password": password}}
    )["logIn"]
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


# --- phone ownership ------------------------------------------------------------------------


def test_sign_up_needs_the_code_sent_to_the_phone(api: Api) -> None:
    phone = next_phone()
    # without a code, or with a wrong one: refused, no account
    assert sign_up(api, phone, None) == ["REQUIRED"]
    api.phone_code(phone)
    assert sign_up(api, phone, "000000") in (["INVALID_PHONE_CODE"],)
    # with the code the phone received: an account, phone confirmed
    code = api.phone_code(phone)
    assert sign_up(api, phone, code) == []
    # and the code is used up: a second account cannot reuse it
    assert sign_up(api, phone, code) == ["INVALID_PHONE_CODE"]


def test_a_code_expires_after_five_minutes(api: Api) -> None:
    phone = next_phone()
    code = api.phone_code(phone)
    api.move_clock(5 * 60 + 1)
    assert sign_up(api, phone, code) == ["INVALID_PHONE_CODE"]


def test_the_sixth_try_of_a_code_fails_even_when_right(api: Api) -> None:
    phone = next_phone()
    code = api.phone_code(phone)
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(5):
        assert sign_up(api, phone, wrong) == ["INVALID_PHONE_CODE"]
    assert sign_up(api, phone, code) == ["INVALID_PHONE_CODE"]


def test_a_code_request_reads_the_same_for_any_phone(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given a phone with an account and one without
    member = api.sign_up("TENANT")
    stranger = next_phone()
    answers = [
        api.anonymous().data(REQUEST_CODE, {"input": {"phone": p, "purpose": "LOG_IN"}})
        for p in (member.phone, stranger)
    ]
    # then both answers are the same; only the member's phone gets a message
    assert answers[0] == answers[1]
    assert answers[0]["requestPhoneCode"]["sent"] is True
    eventually(lambda: len(messages(http, stack.sim_url, member.phone or "")) == 2, within=10)
    assert messages(http, stack.sim_url, stranger) == []


def test_the_attacker_who_signs_up_first_does_not_get_the_victims_phone(api: Api) -> None:
    # given an attacker who knows a victim's phone, but does not hold it
    victim_phone = next_phone()
    assert sign_up(api, victim_phone, None) == ["REQUIRED"]
    assert sign_up(api, victim_phone, "123456") == ["INVALID_PHONE_CODE"]
    # then the victim still signs up with their phone, and a lease sent to it is theirs
    victim = api.sign_up("TENANT", phone=victim_phone)
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    lease = landlord.mutate("startLease", START_LEASE, {"input": lease_input(home.room, victim)})
    victim.mutate("acceptLease", ACCEPT_LEASE, {"input": {"leaseId": lease["lease"]["id"]}})


def test_a_phone_with_an_account_is_told_so_only_to_its_holder(api: Api) -> None:
    member = api.sign_up("LANDLORD")
    assert sign_up(api, member.phone or "", "999999") == ["INVALID_PHONE_CODE"]
    assert sign_up(api, member.phone or "", api.phone_code(member.phone or "")) == ["PHONE_TAKEN"]


def test_an_account_an_admin_made_confirms_its_phone_once(api: Api) -> None:
    phone = next_phone()
    api.admin().mutate(
        "createAccount",
        "mutation($input: CreateAccountInput!) { createAccount(input: $input) { "
        "account { id } userErrors { code } } }",
        {"input": {"role": "POLICE", "name": "警官", "phone": phone, "password": PASSWORD}},
    )
    assert codes(log_in(api, phone)) == ["PHONE_VERIFICATION_REQUIRED"]
    code = api.phone_code(phone, "LOG_IN")
    alone = api.anonymous().data(LOG_IN_WITH_CODE, {"input": {"phone": phone, "phoneCode": code}})
    assert codes(alone["logInWithCode"]) == ["PASSWORD_REQUIRED"]
    code = api.phone_code(phone, "LOG_IN")
    both = {"phone": phone, "phoneCode": code, "password": PASSWORD}
    assert api.anonymous().mutate("logInWithCode", LOG_IN_WITH_CODE, {"input": both})["accessToken"]
    # from then on the password alone does
    assert log_in(api, phone)["accessToken"]


# --- log-in abuse -----------------------------------------------------------------------------


def test_fifty_parallel_wrong_passwords_are_checked_at_most_five_times(
    api: Api, stack: Stack
) -> None:
    user = api.sign_up("TENANT")
    wrong = {"input": {"phone": user.phone, "password": "not the password"}}

    async def main() -> list[list[str]]:
        async with httpx.AsyncClient(base_url=stack.anju_url, timeout=60) as client:

            async def one() -> list[str]:
                body = (
                    await client.post("/graphql", json={"query": LOG_IN, "variables": wrong})
                ).json()
                if body.get("errors"):
                    return [e["extensions"]["code"] for e in body["errors"]]
                return codes(body["data"]["logIn"])

            return await asyncio.gather(*(one() for _ in range(50)))

    answers = asyncio.run(main())
    # a wrong password is only ever known by checking it: at most five were checked; the
    # others were refused before any check (locked, or too many checks at once)
    checked = [a for a in answers if a == ["INVALID_CREDENTIALS"]]
    assert 1 <= len(checked) <= 5, answers
    assert all(
        a in (["INVALID_CREDENTIALS"], ["TOO_MANY_ATTEMPTS"], ["RATE_LIMITED"]) for a in answers
    ), answers
    # and the phone is locked, even for the right password
    assert codes(log_in(api, user.phone or "")) == ["TOO_MANY_ATTEMPTS"]


def test_the_owner_logs_in_with_a_code_while_the_password_is_locked(api: Api) -> None:
    user = api.sign_up("TENANT")
    for _ in range(6):
        log_in(api, user.phone or "", "wrong password!")
    assert codes(log_in(api, user.phone or "")) == ["TOO_MANY_ATTEMPTS"]
    code = api.phone_code(user.phone or "", "LOG_IN")
    given = {"phone": user.phone, "phoneCode": code}
    session = api.anonymous().mutate("logInWithCode", LOG_IN_WITH_CODE, {"input": given})
    assert Caller(api, session["accessToken"]).data(ME)["me"]["id"] == user.account["id"]
    # and the lock is lifted for its owner
    assert log_in(api, user.phone or "")["accessToken"]


def test_a_forgotten_password_is_reset_with_a_code(api: Api) -> None:
    user = api.sign_up("LANDLORD")
    code = api.phone_code(user.phone or "", "RESET_PASSWORD")
    reset = {"phone": user.phone, "phoneCode": code, "newPassword": "a brand new secret"}
    session = api.anonymous().mutate("resetPassword", RESET, {"input": reset})
    assert session["account"]["id"] == user.account["id"]
    # the old password and the old session are gone
    assert codes(log_in(api, user.phone or "")) == ["INVALID_CREDENTIALS"]
    old = api.anonymous().refused(
        "refreshSession", REFRESH, {"input": {"refreshToken": user.refresh_token}}
    )
    assert old == ["INVALID_REFRESH_TOKEN"]
    assert log_in(api, user.phone or "", "a brand new secret")["accessToken"]


# --- sessions that end ------------------------------------------------------------------------


def test_a_session_ends_thirty_days_after_the_log_in_whatever_the_refreshes(api: Api) -> None:
    user = api.sign_up("TENANT")
    anon = api.anonymous()
    fresh = anon.mutate("refreshSession", REFRESH, {"input": {"refreshToken": user.refresh_token}})
    api.move_clock(30 * 24 * 3600 + 60)
    late = anon.refused(
        "refreshSession", REFRESH, {"input": {"refreshToken": fresh["refreshToken"]}}
    )
    assert late == ["INVALID_REFRESH_TOKEN"]


def test_changing_the_password_ends_the_other_sessions_and_tells_the_account(api: Api) -> None:
    user = api.sign_up("TENANT")
    other = api.log_in(user.phone or "", PASSWORD)
    wrong = user.data(
        CHANGE, {"input": {"currentPassword": "nope nope nope", "newPassword": "x" * 12}}
    )
    assert codes(wrong["changePassword"]) == ["INVALID_CREDENTIALS"]
    change = {"currentPassword": PASSWORD, "newPassword": "another long secret"}
    fresh = user.mutate("changePassword", CHANGE, {"input": change})
    # the other session's refresh token and (once its check expires) access token stop
    refused = api.anonymous().refused(
        "refreshSession", REFRESH, {"input": {"refreshToken": other.refresh_token}}
    )
    assert refused == ["INVALID_REFRESH_TOKEN"]
    assert eventually(lambda: other.post(ME).get("errors"), within=10)
    # the caller carries on with the fresh pair, and was told
    caller = Caller(api, fresh["accessToken"])
    assert caller.data(ME)["me"]["id"] == user.account["id"]
    kinds = [e["node"]["kind"] for e in caller.data(NOTES)["notifications"]["edges"]]
    assert "ACCOUNT_SECURITY" in kinds


def test_log_out_everywhere_keeps_only_the_named_session(api: Api) -> None:
    user = api.sign_up("TENANT")
    other = api.log_in(user.phone or "", PASSWORD)
    user.mutate(
        "logOutEverywhere", EVERYWHERE, {"input": {"exceptRefreshToken": user.refresh_token}}
    )
    anon = api.anonymous()
    assert anon.refused("refreshSession", REFRESH, {"input": {"refreshToken": other.refresh_token}})
    assert anon.mutate("refreshSession", REFRESH, {"input": {"refreshToken": user.refresh_token}})
    # a refresh token of another account cannot be kept
    stranger = api.sign_up("TENANT")
    keep_theirs = user.data(EVERYWHERE, {"input": {"exceptRefreshToken": stranger.refresh_token}})
    assert codes(keep_theirs["logOutEverywhere"]) == ["INVALID_REFRESH_TOKEN"]


def test_a_disabled_police_account_is_shut_out_within_a_minute(api: Api) -> None:
    # given an officer with an open subscription
    officer = api.provisioned("POLICE")
    admin = api.admin()
    with Subscription(api.base_url, "subscription { alarmRaised { id } }", officer.token) as sub:
        assert officer.data(ME)["me"]["role"] == "POLICE"
        # when an admin disables the account, with a reason
        given = {
            "accountId": officer.account["id"],
            "status": "DISABLED",
            "reason": "调离 transferred",
        }
        assert (
            admin.mutate("setAccountStatus", SET_STATUS, {"input": given})["account"]["status"]
            == "DISABLED"
        )
        # then its next requests are refused (within the access check's cache: 1 s in tests,
        # 20 s by default), its refresh too, and its subscription is closed
        assert eventually(lambda: officer.codes(ME) == ["UNAUTHENTICATED"], within=60)
        refused = api.anonymous().refused(
            "refreshSession", REFRESH, {"input": {"refreshToken": officer.refresh_token}}
        )
        assert refused == ["INVALID_REFRESH_TOKEN"]
        closed = sub.next(30)
        assert closed is not None and closed.get("type") == "complete", closed
    # and it cannot log in again, while the change is in the audit log with its reason
    assert codes(log_in(api, officer.phone or "", officer.password or "")) == ["ACCOUNT_DISABLED"]
    entry = admin.data(AUDIT)["auditLog"]["edges"][0]["node"]
    assert (entry["action"], entry["target"], entry["reason"]) == (
        "account.setStatus",
        officer.account["id"],
        "调离 transferred",
    )


def test_admins_find_accounts_and_move_them_to_another_scope(api: Api) -> None:
    officer = api.provisioned("POLICE", scope={"town": "松门镇"})
    admin = api.admin()
    found = admin.data(ACCOUNTS, {"role": "POLICE", "phone": officer.phone})["accounts"]
    assert found["totalCount"] == 1 and found["edges"][0]["node"]["scope"]["town"] == "松门镇"
    moved = {"accountId": officer.account["id"], "scope": {"town": "泽国镇"}, "reason": "轮岗"}
    account = admin.mutate("updateAccountScope", SET_SCOPE, {"input": moved})["account"]
    assert account["scope"]["town"] == "泽国镇"
    # the old session (and its token's old scope) ends; a new log-in carries the new scope
    assert eventually(lambda: officer.codes(ME) == ["UNAUTHENTICATED"], within=60)
    again = api.log_in(officer.phone or "", officer.password or "")
    assert again.data("{ me { id } }")["me"]["id"] == officer.account["id"]
    # an admin does not change their own account, and nobody else changes any
    own = {"accountId": admin.account["id"], "status": "DISABLED", "reason": "x"}
    assert admin.refused("setAccountStatus", SET_STATUS, {"input": own}) == [
        "CANNOT_CHANGE_OWN_ACCOUNT"
    ]
    for role in ("LANDLORD", "TENANT", "POLICE", "RESPONDER"):
        assert api.caller(role).errors(ACCOUNTS) == ["FORBIDDEN"]


def test_a_new_log_in_is_told_to_the_account(api: Api) -> None:
    user = api.sign_up("LANDLORD")
    api.log_in(user.phone or "", PASSWORD)
    kinds = [e["node"]["kind"] for e in user.data(NOTES)["notifications"]["edges"]]
    assert kinds.count("ACCOUNT_SECURITY") == 1


# --- tenant consent -------------------------------------------------------------------------


def test_a_lease_sent_to_the_wrong_phone_gives_that_account_nothing_until_it_accepts(
    api: Api,
) -> None:
    # given a landlord who types a stranger's phone for the tenant
    landlord, tenant, stranger = api.caller("LANDLORD"), api.caller("TENANT"), api.caller("TENANT")
    home = building(landlord)
    given = {
        **lease_input(home.room_id, tenant),
        "tenantPhone": stranger.phone,
    }
    lease = landlord.mutate("startLease", START_LEASE, {"input": given})["lease"]
    # then the stranger sees an invitation, and nothing behind it: no occupants, no
    # invoices, no door
    [invited] = stranger.data(MY_LEASES)["myLeases"]
    assert invited["tenantAcceptedAt"] is None
    assert invited["occupants"] == [] and invited["invoices"]["totalCount"] == 0
    assert open_door(stranger, home.door_id)["userErrors"][0]["code"] == "NOT_FOUND"
    # and the landlord sees the phone the invitation went to, never the account's name
    seen = landlord.data(LEASE, {"id": lease["id"]})["node"]
    assert seen["invitedPhone"] == stranger.phone and seen["tenantAcceptedAt"] is None
    assert seen["tenant"]["name"] == "" and seen["tenant"]["phone"] == stranger.phone
    # while the occupants are registered all the same
    assert [o["name"] for o in seen["occupants"]] == ["张伟"]
    # when the landlord sends it again to the right phone, the stranger's invitation is gone
    fix = {"leaseId": lease["id"], "tenantPhone": tenant.phone}
    landlord.mutate("resendLeaseInvitation", RESEND, {"input": fix})
    assert stranger.data(MY_LEASES)["myLeases"] == []
    accept = {"input": {"leaseId": lease["id"]}}
    assert stranger.refused("acceptLease", ACCEPT_LEASE, accept) == ["NOT_FOUND"]
    # and the tenant accepts: the lease is theirs, and the landlord now sees their name
    tenant.mutate("acceptLease", ACCEPT_LEASE, accept)
    assert open_door(tenant, home.door_id)["command"]["status"] == "OPENED"
    after = landlord.data(LEASE, {"id": lease["id"]})["node"]
    assert after["tenant"]["name"] == tenant.account["name"]


def test_an_invitation_expires_and_is_sent_again(api: Api) -> None:
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = landlord.mutate("startLease", START_LEASE, {"input": lease_input(home.room, tenant)})[
        "lease"
    ]
    api.move_clock(15 * 24 * 3600)
    assert tenant.refused("acceptLease", ACCEPT_LEASE, {"input": {"leaseId": lease["id"]}}) == [
        "INVITATION_EXPIRED"
    ]
    again = {"leaseId": lease["id"], "tenantPhone": tenant.phone}
    landlord.mutate("resendLeaseInvitation", RESEND, {"input": again})
    tenant.mutate("acceptLease", ACCEPT_LEASE, {"input": {"leaseId": lease["id"]}})
