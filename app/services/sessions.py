"""Sessions: log-in with throttling, refresh tokens, log-out.

Refresh tokens are opaque random strings; only their SHA-256 is stored (a 256-bit random
token needs no slow hash). Each use rotates it: the old one is marked used and a new one is
issued in the same session. Presenting a used one again means it was stolen or replayed, so
the whole session is revoked (RFC 6819 5.2.2.3; OAuth 2.0 Security BCP 4.14).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now
from app.deps import Deps
from app.errors import Code, UserInputError
from app.store import Doc, Store
from app.validation import normalize_phone


@dataclass
class Session:
    account: Doc
    access_token: str
    refresh_token: str
    expires_in: int


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def log_in(deps: Deps, *, phone: str, password: str) -> Session:
    from app.services.accounts import MAX_PASSWORD

    store, passwords = deps.store, deps.passwords
    refused = UserInputError("Wrong phone or password.", code=Code.INVALID_CREDENTIALS)
    clean = normalize_phone(phone)
    if clean is None or len(password) > MAX_PASSWORD:
        await passwords.verify(passwords.dummy_hash, password[:MAX_PASSWORD])
        raise refused
    at = now()
    attempts = await store.login_attempts.find_one({"_id": clean})
    if attempts and attempts.get("locked_until") and attempts["locked_until"] > at:
        raise UserInputError(
            "Too many failed log-ins; try again later.", code=Code.TOO_MANY_ATTEMPTS
        )
    account = await store.accounts.find_one({"phone": clean})
    hashed = account["password_hash"] if account else passwords.dummy_hash
    ok = await passwords.verify(hashed, password)
    if not ok or account is None:
        await _count_failure(deps, clean, at)
        raise refused
    await store.login_attempts.delete_one({"_id": clean})
    return await open_session(deps, account)


async def _count_failure(deps: Deps, phone: str, at: dt.datetime) -> None:
    """Counts a failure in the database (so it holds across workers); locks at the limit."""
    settings = deps.settings
    async with deps.store.exclusive(f"login:{phone}"):
        doc = await deps.store.login_attempts.find_one_and_update(
            {"_id": phone},
            {"$inc": {"failures": 1}, "$set": {"last_failure_at": at}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        if doc and doc.get("failures", 0) >= settings.login_max_failures:
            # conditional on the count this call saw: of concurrent failures at the limit,
            # one locks (and resets the count)
            await deps.store.login_attempts.update_one(
                {"_id": phone, "failures": doc["failures"]},
                {
                    "$set": {
                        "failures": 0,
                        "locked_until": at + dt.timedelta(seconds=settings.login_lockout_s),
                    }
                },
            )


async def open_session(deps: Deps, account: Doc) -> Session:
    session_id = ObjectId()
    await deps.store.sessions.insert_one(
        {"_id": session_id, "account_id": account["_id"], "created_at": now(), "revoked_at": None}
    )
    return await _issue(deps, account, session_id)


async def _issue(deps: Deps, account: Doc, session_id: ObjectId) -> Session:
    refresh = "rt_" + secrets.token_urlsafe(32)
    at = now()
    await deps.store.refresh_tokens.insert_one(
        {
            "_id": _token_hash(refresh),
            "session_id": session_id,
            "account_id": account["_id"],
            "created_at": at,
            "expires_at": at + dt.timedelta(seconds=deps.settings.refresh_token_ttl_s),
            "used_at": None,
        }
    )
    access = deps.keys.issue(
        account_id=str(account["_id"]),
        role=account["role"],
        scope=account.get("scope") or {},
        session_id=str(session_id),
    )
    return Session(account, access, refresh, deps.keys.ttl)


def _invalid_refresh() -> UserInputError:
    return UserInputError(
        "The refresh token is invalid, expired or revoked; log in again.",
        code=Code.INVALID_REFRESH_TOKEN,
        field=["refreshToken"],
    )


async def _revoke_session(store: Store, session_id: Any, reason: str) -> None:
    await store.sessions.update_one(
        {"_id": session_id, "revoked_at": None},
        {"$set": {"revoked_at": now(), "revoked_reason": reason}},
    )


async def refresh_session(deps: Deps, *, refresh_token: str) -> Session:
    if not isinstance(refresh_token, str) or len(refresh_token) > 128:
        raise _invalid_refresh()
    store = deps.store
    token_hash = _token_hash(refresh_token)
    at = now()
    doc = await store.refresh_tokens.find_one({"_id": token_hash})
    if doc is None or doc["expires_at"] <= at:
        raise _invalid_refresh()
    if doc["used_at"] is not None:
        await _revoke_session(store, doc["session_id"], "refresh token reused")
        raise _invalid_refresh()
    session = await store.sessions.find_one({"_id": doc["session_id"]})
    account = await store.accounts.find_one({"_id": doc["account_id"]})
    if session is None or session.get("revoked_at") is not None or account is None:
        raise _invalid_refresh()
    # Of concurrent uses exactly one marks the token used and gets a new pair; each other is
    # a reuse that revokes the session, the pair just issued included.
    async with store.exclusive(f"refresh:{token_hash}"):
        won = await store.refresh_tokens.find_one_and_update(
            {"_id": token_hash, "used_at": None}, {"$set": {"used_at": at}}
        )
    if won is None:
        await _revoke_session(store, doc["session_id"], "refresh token reused")
        raise _invalid_refresh()
    return await _issue(deps, account, session["_id"])


async def log_out(deps: Deps, *, refresh_token: str) -> None:
    if not isinstance(refresh_token, str) or len(refresh_token) > 128:
        raise _invalid_refresh()
    doc = await deps.store.refresh_tokens.find_one({"_id": _token_hash(refresh_token)})
    if doc is None:
        raise _invalid_refresh()
    await _revoke_session(deps.store, doc["session_id"], "logged out")
