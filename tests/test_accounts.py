"""Accounts, sessions, tokens and roles, through GraphQL over HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import Stack
from tests.support import (
    CREATE_ACCOUNT,
    LOG_IN,
    LOG_OUT,
    ME,
    REFRESH,
    SIGN_UP,
    Api,
    Caller,
    next_phone,
)

PASSWORD = "correct horse battery"


def sign_up_vars(api: Api, role: str = "TENANT", **over: Any) -> dict[str, Any]:
    """A sign-up's input, with the code the phone received."""
    given = {"role": role, "name": "小王", "phone": next_phone(), "password": PASSWORD, **over}
    return {"input": {**given, "phoneCode": api.phone_code(given["phone"])}}


# --- sign-up and log-in -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["LANDLORD", "TENANT"])
def test_sign_up_then_me(api: Api, role: str) -> None:
    # given a new landlord or tenant
    payload = api.anonymous().mutate("signUp", SIGN_UP, sign_up_vars(api, role))
    # then the tokens work and `me` is the account
    assert payload["expiresIn"] == 900
    caller = Caller(api, payload["accessToken"])
    assert caller.data(ME)["me"] == payload["account"]
    assert payload["account"]["role"] == role


@pytest.mark.parametrize("role", ["POLICE", "RESPONDER", "ADMIN"])
def test_sign_up_refuses_provisioned_roles(api: Api, role: str) -> None:
    assert api.anonymous().refused("signUp", SIGN_UP, sign_up_vars(api, role)) == ["INVALID_ROLE"]


def test_sign_up_validates_each_field(api: Api) -> None:
    codes = api.anonymous().refused(
        "signUp",
        SIGN_UP,
        {"input": {"role": "TENANT", "name": "  ", "phone": "12345", "password": "short"}},
    )
    assert sorted(codes) == ["INVALID_PHONE", "REQUIRED", "REQUIRED", "WEAK_PASSWORD"]


def test_phone_is_normalised_and_unique(api: Api) -> None:
    # given an account signed up with a formatted number
    api.anonymous().mutate("signUp", SIGN_UP, sign_up_vars(api, phone="+86 139-1234-5678"))
    # when the same number signs up again, written differently (its owner, with a new code)
    codes = api.anonymous().refused("signUp", SIGN_UP, sign_up_vars(api, phone="13912345678"))
    # then it is refused, and logging in with either spelling works
    assert codes == ["PHONE_TAKEN"]
    assert api.log_in("0086 13912345678", PASSWORD).account["phone"] == "13912345678"


def test_wrong_password_and_unknown_phone_read_the_same(api: Api) -> None:
    user = api.sign_up("TENANT")
    anon = api.anonymous()
    wrong = anon.refused("logIn", LOG_IN, {"input": {"phone": user.phone, "password": "x" * 12}})
    unknown = anon.refused(
        "logIn", LOG_IN, {"input": {"phone": next_phone(), "password": PASSWORD}}
    )
    assert wrong == unknown == ["INVALID_CREDENTIALS"]


def test_repeated_failures_lock_the_phone_even_for_the_right_password(api: Api) -> None:
    # given five failed log-ins for one phone
    user = api.sign_up("TENANT")
    anon = api.anonymous()
    for _ in range(5):
        anon.refused("logIn", LOG_IN, {"input": {"phone": user.phone, "password": "wrong one!!"}})
    # when the right password comes next
    codes = anon.refused("logIn", LOG_IN, {"input": {"phone": user.phone, "password": PASSWORD}})
    # then it is refused for a while; other phones are unaffected
    assert codes == ["TOO_MANY_ATTEMPTS"]
    other = api.sign_up("TENANT")
    assert api.log_in(other.phone or "", PASSWORD).token


def test_failures_below_the_limit_are_forgotten_after_a_success(api: Api) -> None:
    user = api.sign_up("TENANT")
    anon = api.anonymous()
    for _ in range(4):
        anon.refused("logIn", LOG_IN, {"input": {"phone": user.phone, "password": "wrong one!!"}})
    api.log_in(user.phone or "", PASSWORD)
    for _ in range(4):
        anon.refused("logIn", LOG_IN, {"input": {"phone": user.phone, "password": "wrong one!!"}})
    assert api.log_in(user.phone or "", PASSWORD).token


# --- refresh tokens ----------------------------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_session(api: Api) -> None:
    # given a session
    user = api.sign_up("LANDLORD")
    anon = api.anonymous()
    first = user.refresh_token
    # when it is refreshed, the new pair works
    second = anon.mutate("refreshSession", REFRESH, {"input": {"refreshToken": first}})
    assert second["refreshToken"] != first
    assert Caller(api, second["accessToken"]).data(ME)["me"]["id"] == user.account["id"]
    # and the old token, presented again (stolen), is refused
    codes = anon.refused("refreshSession", REFRESH, {"input": {"refreshToken": first}})
    assert codes == ["INVALID_REFRESH_TOKEN"]
    # then the whole session is revoked: the newest token stops working too
    codes = anon.refused(
        "refreshSession", REFRESH, {"input": {"refreshToken": second["refreshToken"]}}
    )
    assert codes == ["INVALID_REFRESH_TOKEN"]


def test_log_out_revokes_the_refresh_token(api: Api) -> None:
    user = api.sign_up("TENANT")
    anon = api.anonymous()
    assert anon.mutate("logOut", LOG_OUT, {"input": {"refreshToken": user.refresh_token}})["ok"]
    codes = anon.refused("refreshSession", REFRESH, {"input": {"refreshToken": user.refresh_token}})
    assert codes == ["INVALID_REFRESH_TOKEN"]
    # another session of the same account is untouched
    other = api.log_in(user.phone or "", PASSWORD)
    anon.mutate("refreshSession", REFRESH, {"input": {"refreshToken": other.refresh_token}})


@pytest.mark.parametrize("token", ["", "rt_nonsense", "x" * 1000, '{"$ne": null}'])
def test_garbage_refresh_tokens_are_refused(api: Api, token: str) -> None:
    codes = api.anonymous().refused("refreshSession", REFRESH, {"input": {"refreshToken": token}})
    assert codes == ["INVALID_REFRESH_TOKEN"]


def test_refresh_tokens_are_stored_only_as_hashes(api: Api, mongo: Any, stack: Stack) -> None:
    user = api.sign_up("TENANT")
    stored = list(mongo[stack.db_name].refresh_tokens.find())
    assert stored and all(user.refresh_token not in json.dumps(d, default=str) for d in stored)
    account = mongo[stack.db_name].accounts.find_one({"phone": user.phone})
    assert account["password_hash"].startswith("$argon2id$")


# --- access tokens -----------------------------------------------------------------------


def _private_key(stack: Stack) -> tuple[str, Ed25519PrivateKey]:
    path = sorted(Path(stack.env["ANJU_JWT_KEYS_DIR"]).glob("*.pem"))[-1]
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return path.stem, key


def _claims(user: Caller, **over: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    claims = jwt.decode(user.token or "", options={"verify_signature": False})
    claims.update({"iat": now, "nbf": now, "exp": now + dt.timedelta(minutes=5)})
    claims.update(over)
    return claims


def _forge(claims: dict[str, Any], key: Any, kid: str, alg: str = "EdDSA") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "at+jwt"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_well_formed_token_signed_by_our_key_is_accepted(api: Api, stack: Stack) -> None:
    # the forging helper itself works, so the refusals below are meaningful
    user = api.sign_up("TENANT")
    kid, key = _private_key(stack)
    assert Caller(api, _forge(_claims(user), key, kid)).data(ME)["me"]["id"]


def _refused_tokens(user: Caller, stack: Stack) -> dict[str, str]:
    kid, key = _private_key(stack)
    other = Ed25519PrivateKey.generate()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header, payload, signature = (user.token or "").split(".")
    changed = json.loads(base64.urlsafe_b64decode(payload + "=="))
    changed["role"] = "ADMIN"
    none_header = _b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": kid}).encode())
    now = dt.datetime.now(dt.UTC)
    return {
        "alg none": f"{none_header}.{payload}.",
        "another key": _forge(_claims(user), other, kid),
        "changed payload": f"{header}.{_b64(json.dumps(changed).encode())}.{signature}",
        "expired": _forge(
            _claims(
                user,
                iat=now - dt.timedelta(hours=1),
                nbf=now - dt.timedelta(hours=1),
                exp=now - dt.timedelta(minutes=5),
            ),
            key,
            kid,
        ),
        "wrong audience": _forge(_claims(user, aud="someone-else"), key, kid),
        "wrong issuer": _forge(_claims(user, iss="https://evil.example"), key, kid),
        "HS256 with the public key": _hs256(_claims(user), public_pem, kid),
        "no exp": _forge({k: v for k, v in _claims(user).items() if k != "exp"}, key, kid),
        "unknown kid": _forge(_claims(user), key, "../../etc/passwd"),
        "not a JWT": "hello",
    }


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    # PyJWT itself refuses to use a PEM as an HMAC secret, so sign by hand as an attacker would
    import hashlib
    import hmac

    def enc(obj: dict[str, Any]) -> str:
        return _b64(json.dumps(obj, default=lambda d: int(d.timestamp())).encode())

    signing_input = f"{enc({'alg': 'HS256', 'typ': 'at+jwt', 'kid': kid})}.{enc(claims)}"
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(sig)}"


@pytest.mark.parametrize(
    "case",
    [
        "alg none",
        "another key",
        "changed payload",
        "expired",
        "wrong audience",
        "wrong issuer",
        "HS256 with the public key",
        "no exp",
        "unknown kid",
        "not a JWT",
    ],
)
def test_forged_or_stale_access_tokens_are_refused(api: Api, stack: Stack, case: str) -> None:
    # given a tenant's real token and a forged or stale variant of it
    user = api.sign_up("TENANT")
    token = _refused_tokens(user, stack)[case]
    forged = Caller(api, token)
    # then every operation answers UNAUTHENTICATED, `me` and the public search included: the
    # app learns that its session needs refreshing, instead of being served as anonymous
    assert forged.errors(ME) == ["UNAUTHENTICATED"]
    assert forged.errors("{ listings(first: 1) { totalCount } }") == ["UNAUTHENTICATED"]
    codes = forged.errors(
        CREATE_ACCOUNT,
        {"input": {"role": "POLICE", "name": "x", "phone": next_phone(), "password": PASSWORD}},
    )
    assert codes == ["UNAUTHENTICATED"]


def test_jwks_serves_the_public_keys(api: Api, http: Any, stack: Stack) -> None:
    kid, _ = _private_key(stack)
    keys = http.get(f"{api.base_url}/.well-known/jwks.json").json()["keys"]
    assert [k["kid"] for k in keys] == [kid]
    assert keys[0]["kty"] == "OKP" and keys[0]["alg"] == "EdDSA" and "d" not in keys[0]
    # a client can verify our tokens with it
    user = api.sign_up("TENANT")
    public = jwt.PyJWK(keys[0]).key
    claims = jwt.decode(user.token or "", public, algorithms=["EdDSA"], audience="anju-api")
    assert claims["role"] == "TENANT" and claims["sub"] and claims["jti"]
    assert set(claims) >= {"iss", "aud", "sub", "role", "scope", "iat", "exp", "jti"}


# --- provisioning and roles ---------------------------------------------------------------


def test_admin_provisions_police_with_a_scope(api: Api) -> None:
    admin = api.admin()
    phone = next_phone()
    payload = admin.mutate(
        "createAccount",
        CREATE_ACCOUNT,
        {
            "input": {
                "role": "POLICE",
                "name": "警官",
                "phone": phone,
                "password": PASSWORD,
                "scope": {"town": "松门镇", "community": "松门村"},
            }
        },
    )
    assert payload["account"]["role"] == "POLICE"
    officer = api.log_in(phone, PASSWORD)
    claims = jwt.decode(officer.token or "", options={"verify_signature": False})
    assert claims["scope"] == {"town": "松门镇", "community": "松门村"}


def test_create_account_refuses_self_service_roles_and_bad_scopes(api: Api) -> None:
    admin = api.admin()
    base = {"name": "x", "phone": next_phone(), "password": PASSWORD}
    assert admin.refused(
        "createAccount", CREATE_ACCOUNT, {"input": {**base, "role": "TENANT"}}
    ) == ["INVALID_ROLE"]
    codes = admin.refused(
        "createAccount",
        CREATE_ACCOUNT,
        {"input": {**base, "role": "RESPONDER", "scope": {"grid": "3"}}},
    )
    assert sorted(codes) == ["REQUIRED"]


@pytest.mark.parametrize("role", ["LANDLORD", "TENANT", "RESPONDER", "POLICE"])
def test_only_admins_create_accounts(api: Api, role: str) -> None:
    caller = api.caller(role)
    codes = caller.errors(
        CREATE_ACCOUNT,
        {"input": {"role": "POLICE", "name": "x", "phone": next_phone(), "password": PASSWORD}},
    )
    assert codes == ["FORBIDDEN"]


def test_anonymous_cannot_create_accounts(api: Api) -> None:
    codes = api.anonymous().errors(
        CREATE_ACCOUNT,
        {"input": {"role": "POLICE", "name": "x", "phone": next_phone(), "password": PASSWORD}},
    )
    assert codes == ["UNAUTHENTICATED"]


def test_police_may_use_sessions_but_no_other_mutation(api: Api) -> None:
    officer = api.provisioned("POLICE")
    # refreshing and logging out work
    fresh = officer.mutate(
        "refreshSession", REFRESH, {"input": {"refreshToken": officer.refresh_token}}
    )
    officer.mutate("logOut", LOG_OUT, {"input": {"refreshToken": fresh["refreshToken"]}})
    # anything else is refused centrally, even what an admin could do
    body = officer.post(
        CREATE_ACCOUNT,
        {"input": {"role": "POLICE", "name": "x", "phone": next_phone(), "password": PASSWORD}},
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert "read-only" in body["errors"][0]["message"]


def test_accounts_are_visible_through_node_only_to_themselves_and_admins(api: Api) -> None:
    a, b = api.sign_up("TENANT"), api.sign_up("LANDLORD")
    query = "query($id: ID!) { node(id: $id) { id ... on Account { phone } } }"
    assert a.data(query, {"id": a.account["id"]})["node"]["phone"] == a.phone
    assert b.data(query, {"id": a.account["id"]}) == {"node": None}
    assert api.admin().data(query, {"id": a.account["id"]})["node"]["phone"] == a.phone
