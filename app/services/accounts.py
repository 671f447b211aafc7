"""Accounts, sign-up, log-in with throttling, and refresh-token sessions.

Refresh tokens are opaque random strings; only their SHA-256 is stored (a 256-bit random
token needs no slow hash). Each use rotates it: the old one is marked used and a new one is
issued in the same session. Presenting a used one again means it was stolen or replayed, so
the whole session is revoked (RFC 6819 5.2.2.3; OAuth 2.0 Security BCP 4.14).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import audit, locks
from app.services.clock import now
from app.settings import Settings
from app.tokens import KeySet
from app.validation import check_phone, clean_text, normalize_phone
from app.viewer import Role, Scope, Viewer

MIN_PASSWORD = 10
MAX_PASSWORD = 128
SELF_SERVICE_ROLES = {Role.LANDLORD, Role.TENANT}
PROVISIONED_ROLES = {Role.POLICE, Role.RESPONDER, Role.ADMIN}

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
# Verified against when the phone is unknown, so that costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass
class Session:
    account: Doc
    access_token: str
    refresh_token: str
    expires_in: int


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(hashed: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(errors: Collector, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        errors.add(["password"], Code.WEAK_PASSWORD, f"At least {MIN_PASSWORD} characters.")
    elif len(password) > MAX_PASSWORD:
        errors.add(["password"], Code.TOO_LONG, f"At most {MAX_PASSWORD} characters.")


def _clean_scope(errors: Collector, scope: Scope | None) -> dict[str, str] | None:
    if scope is None:
        return None
    cleaned = {
        k: clean_text(errors, ["scope", k], v, max_len=64)
        for k, v in (("town", scope.town), ("community", scope.community), ("grid", scope.grid))
        if v is not None
    }
    if "grid" in cleaned and "community" not in cleaned:
        errors.add(["scope", "community"], Code.REQUIRED, "A grid needs its community.")
    if "community" in cleaned and "town" not in cleaned:
        errors.add(["scope", "town"], Code.REQUIRED, "A community needs its town.")
    return cleaned or None


async def _insert_account(
    db: AsyncDatabase[Doc],
    *,
    role: Role,
    name: str,
    phone: str,
    password: str,
    scope: dict[str, str] | None = None,
) -> Doc:
    doc: Doc = {
        "_id": ObjectId(),
        "role": role.value,
        "name": name,
        "phone": phone,
        "password_hash": await hash_password(password),
        "scope": scope,
        "created_at": now(),
    }
    try:
        await db.accounts.insert_one(doc)
    except DuplicateKeyError as exc:
        raise UserInputError(
            "An account with this phone already exists.", code=Code.PHONE_TAKEN, field=["phone"]
        ) from exc
    return doc


def _validate_account(errors: Collector, name: str, phone: str, password: str) -> tuple[str, str]:
    clean_name = clean_text(errors, ["name"], name, max_len=64)
    clean_phone = check_phone(errors, ["phone"], phone)
    _check_password(errors, password)
    return clean_name, clean_phone


async def sign_up(
    db: AsyncDatabase[Doc],
    keys: KeySet,
    settings: Settings,
    *,
    role: Role,
    name: str,
    phone: str,
    password: str,
) -> Session:
    errors = Collector()
    if role not in SELF_SERVICE_ROLES:
        errors.add(["role"], Code.INVALID_ROLE, "Sign-up is for landlords and tenants only.")
    clean_name, clean_phone = _validate_account(errors, name, phone, password)
    errors.raise_if_any()
    account = await _insert_account(
        db, role=role, name=clean_name, phone=clean_phone, password=password
    )
    return await _open_session(db, keys, settings, account)


async def create_account(
    db: AsyncDatabase[Doc],
    viewer: Viewer,
    *,
    role: Role,
    name: str,
    phone: str,
    password: str,
    scope: Scope | None,
) -> Doc:
    admin_id = viewer.require(Role.ADMIN)
    errors = Collector()
    if role not in PROVISIONED_ROLES:
        errors.add(["role"], Code.INVALID_ROLE, "Landlords and tenants sign up themselves.")
    clean_name, clean_phone = _validate_account(errors, name, phone, password)
    clean_scope = _clean_scope(errors, scope)
    if role is Role.ADMIN and clean_scope:
        errors.add(["scope"], Code.INVALID_ARGUMENT, "Admins serve the whole city.")
    errors.raise_if_any()
    account = await _insert_account(
        db, role=role, name=clean_name, phone=clean_phone, password=password, scope=clean_scope
    )
    await audit.record(
        db,
        admin_id,
        "account.create",
        target=f"Account:{account['_id']}",
        details={"role": role.value, "scope": clean_scope},
    )
    return account


async def ensure_admin(db: AsyncDatabase[Doc], settings: Settings) -> None:
    """Creates the first ADMIN from ANJU_ADMIN_PHONE/PASSWORD when there is none."""
    if not settings.admin_phone or not settings.admin_password:
        return
    if await db.accounts.find_one({"role": Role.ADMIN.value}, {"_id": 1}):
        return
    phone = normalize_phone(settings.admin_phone)
    if phone is None:
        raise UserInputError("ANJU_ADMIN_PHONE is not a mainland mobile number.")
    with contextlib.suppress(UserInputError):  # another worker created it first
        await _insert_account(
            db,
            role=Role.ADMIN,
            name="Administrator",
            phone=phone,
            password=settings.admin_password,
        )


async def log_in(
    db: AsyncDatabase[Doc], keys: KeySet, settings: Settings, *, phone: str, password: str
) -> Session:
    refused = UserInputError("Wrong phone or password.", code=Code.INVALID_CREDENTIALS)
    clean = normalize_phone(phone)
    if clean is None or len(password) > MAX_PASSWORD:
        await _verify(_DUMMY_HASH, password[:MAX_PASSWORD])
        raise refused
    at = now()
    attempts = await db.login_attempts.find_one({"_id": clean})
    if attempts and attempts.get("locked_until") and attempts["locked_until"] > at:
        raise UserInputError(
            "Too many failed log-ins; try again later.", code=Code.TOO_MANY_ATTEMPTS
        )
    account = await db.accounts.find_one({"phone": clean})
    ok = await _verify(account["password_hash"] if account else _DUMMY_HASH, password)
    if not ok or account is None:
        await _count_failure(db, settings, clean, at)
        raise refused
    await db.login_attempts.delete_one({"_id": clean})
    return await _open_session(db, keys, settings, account)


async def _count_failure(
    db: AsyncDatabase[Doc], settings: Settings, phone: str, at: dt.datetime
) -> None:
    """Counts a failure in the database (so it holds across workers); locks at the limit.
    The phone's lock makes the count exact under concurrent attempts on FerretDB too."""
    async with locks.held(db, f"login:{phone}"):
        doc = await db.login_attempts.find_one_and_update(
            {"_id": phone},
            {"$inc": {"failures": 1}, "$set": {"last_failure_at": at}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        if doc and doc.get("failures", 0) >= settings.login_max_failures:
            await db.login_attempts.update_one(
                {"_id": phone},
                {
                    "$set": {
                        "failures": 0,
                        "locked_until": at + dt.timedelta(seconds=settings.login_lockout_s),
                    }
                },
            )


async def _open_session(
    db: AsyncDatabase[Doc], keys: KeySet, settings: Settings, account: Doc
) -> Session:
    session_id = ObjectId()
    await db.sessions.insert_one(
        {"_id": session_id, "account_id": account["_id"], "created_at": now(), "revoked_at": None}
    )
    return await _issue(db, keys, settings, account, session_id)


async def _issue(
    db: AsyncDatabase[Doc], keys: KeySet, settings: Settings, account: Doc, session_id: ObjectId
) -> Session:
    refresh = "rt_" + secrets.token_urlsafe(32)
    at = now()
    await db.refresh_tokens.insert_one(
        {
            "_id": _token_hash(refresh),
            "session_id": session_id,
            "account_id": account["_id"],
            "created_at": at,
            "expires_at": at + dt.timedelta(seconds=settings.refresh_token_ttl_s),
            "used_at": None,
        }
    )
    access = keys.issue(
        account_id=str(account["_id"]),
        role=account["role"],
        scope=account.get("scope") or {},
        session_id=str(session_id),
    )
    return Session(account, access, refresh, keys.ttl)


def _invalid_refresh() -> UserInputError:
    return UserInputError(
        "The refresh token is invalid, expired or revoked; log in again.",
        code=Code.INVALID_REFRESH_TOKEN,
        field=["refreshToken"],
    )


async def _revoke_session(db: AsyncDatabase[Doc], session_id: Any, reason: str) -> None:
    await db.sessions.update_one(
        {"_id": session_id, "revoked_at": None},
        {"$set": {"revoked_at": now(), "revoked_reason": reason}},
    )


async def refresh_session(
    db: AsyncDatabase[Doc], keys: KeySet, settings: Settings, *, refresh_token: str
) -> Session:
    if not isinstance(refresh_token, str) or len(refresh_token) > 128:
        raise _invalid_refresh()
    token_hash = _token_hash(refresh_token)
    at = now()
    # One use at a time per token (its lock; FerretDB does not make the conditional update
    # exclusive): of concurrent uses exactly one gets a new pair, and each later one is a
    # reuse that revokes the session, the pair just issued included.
    async with locks.held(db, f"refresh:{token_hash}"):
        doc = await db.refresh_tokens.find_one_and_update(
            {"_id": token_hash, "used_at": None}, {"$set": {"used_at": at}}
        )
        if doc is None:
            reused = await db.refresh_tokens.find_one({"_id": token_hash})
            if reused is not None:
                await _revoke_session(db, reused["session_id"], "refresh token reused")
            raise _invalid_refresh()
        if doc["expires_at"] <= at:
            raise _invalid_refresh()
        session = await db.sessions.find_one({"_id": doc["session_id"]})
        account = await db.accounts.find_one({"_id": doc["account_id"]})
        if session is None or session.get("revoked_at") is not None or account is None:
            raise _invalid_refresh()
        return await _issue(db, keys, settings, account, session["_id"])


async def log_out(db: AsyncDatabase[Doc], *, refresh_token: str) -> None:
    if not isinstance(refresh_token, str) or len(refresh_token) > 128:
        raise _invalid_refresh()
    doc = await db.refresh_tokens.find_one({"_id": _token_hash(refresh_token)})
    if doc is None:
        raise _invalid_refresh()
    await _revoke_session(db, doc["session_id"], "logged out")


async def get_account(db: AsyncDatabase[Doc], account_id: ObjectId) -> Doc:
    doc = await db.accounts.find_one({"_id": account_id})
    if doc is None:
        raise NotFoundError("Account")
    return doc
