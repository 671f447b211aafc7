"""Log-ins: with the password, or with a code sent to the phone.

Every attempt is counted before the password is checked, with one atomic increment per phone
(and against the client's address and the whole service: app/services/rate_limits.py), so
parallel attempts cannot slip past the count: of any number of concurrent wrong passwords for
one phone, at most ANJU_LOGIN_MAX_FAILURES are checked; the next locks the phone for
ANJU_LOGIN_LOCKOUT_S. A success forgets the count. The owner of the phone is never locked out:
a code sent to it logs them in even while the password is locked (and forgets the count).

An account whose phone has not been verified (one made by an admin, or before verification
existed) logs in once with its password *and* a code: that proves both the account and the
phone. Until then a correct password answers PHONE_VERIFICATION_REQUIRED.
"""

from __future__ import annotations

import datetime as dt

from pymongo import ReturnDocument

from app.clock import now
from app.deps import Deps
from app.errors import Code, UserInputError
from app.services import phone_codes, rate_limits
from app.services.sessions import ACTIVE, Session, open_session
from app.store import Doc
from app.validation import normalize_phone

MAX_PASSWORD = 128
NEW_LOG_IN = "Your account was signed in to. If this was not you, change your password."


def refused() -> UserInputError:
    return UserInputError("Wrong phone or password.", code=Code.INVALID_CREDENTIALS)


async def log_in(deps: Deps, *, phone: str, password: str, client: str) -> Session:
    clean = normalize_phone(phone)
    await rate_limits.auth_attempt(deps.store, deps.settings, phone=clean, client=client)
    passwords = deps.passwords
    if clean is None or len(password) > MAX_PASSWORD:
        await passwords.verify(passwords.dummy_hash, password[:MAX_PASSWORD])
        raise refused()
    account = await checked_password(deps, clean, password)
    if account.get("phone_verified_at") is None:
        raise UserInputError(
            "Confirm your phone: log in with a code sent to it and your password.",
            code=Code.PHONE_VERIFICATION_REQUIRED,
        )
    return await open_session(deps, account, told=NEW_LOG_IN)


async def checked_password(deps: Deps, phone: str, password: str) -> Doc:
    """The account if the password is right; counts the attempt first (see the module)."""
    store, settings = deps.store, deps.settings
    at = now()
    async with store.exclusive(f"login:{phone}"):
        attempts = await store.login_attempts.find_one_and_update(
            {"_id": phone},
            {
                "$inc": {"attempts": 1},
                "$setOnInsert": {
                    "locked_until": None,
                    "expires_at": at + dt.timedelta(seconds=settings.login_lockout_s),
                },
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
    assert attempts is not None
    if attempts.get("locked_until") and attempts["locked_until"] > at:
        raise _locked()
    if attempts["attempts"] > settings.login_max_failures:
        await _lock(deps, phone, at)
        raise _locked()
    account = await store.accounts.find_one({"phone": phone})
    hashed = account["password_hash"] if account else deps.passwords.dummy_hash
    if not await deps.passwords.verify(hashed, password) or account is None:
        raise refused()
    await forget_attempts(deps, phone)
    if account.get("status", ACTIVE) != ACTIVE:
        raise _disabled()
    return account


async def _lock(deps: Deps, phone: str, at: dt.datetime) -> None:
    until = at + dt.timedelta(seconds=deps.settings.login_lockout_s)
    async with deps.store.exclusive(f"login:{phone}"):
        await deps.store.login_attempts.update_one(
            {"_id": phone}, {"$set": {"attempts": 0, "locked_until": until, "expires_at": until}}
        )


async def forget_attempts(deps: Deps, phone: str) -> None:
    async with deps.store.exclusive(f"login:{phone}"):
        await deps.store.login_attempts.delete_one({"_id": phone})


def _locked() -> UserInputError:
    return UserInputError(
        "Too many failed log-ins; try again later, or log in with a code sent to your phone.",
        code=Code.TOO_MANY_ATTEMPTS,
    )


def _disabled() -> UserInputError:
    return UserInputError("This account is disabled.", code=Code.ACCOUNT_DISABLED)


async def log_in_with_code(
    deps: Deps, *, phone: str, code: str, password: str | None, client: str
) -> Session:
    """The owner of a phone logs in with a LOG_IN code, even while the password is locked
    out. An account whose phone is not verified yet also gives its password, once."""
    clean = normalize_phone(phone)
    await rate_limits.auth_attempt(deps.store, deps.settings, phone=clean, client=client)
    if clean is None:
        raise phone_codes.invalid_code()
    await phone_codes.consume(deps, phone=clean, purpose=phone_codes.LOG_IN, code=code)
    account = await deps.store.accounts.find_one({"phone": clean})
    if account is None:
        raise phone_codes.invalid_code()
    if account.get("phone_verified_at") is None:
        if not password:
            raise UserInputError(
                "This account's phone is not confirmed yet: give the password too.",
                code=Code.PASSWORD_REQUIRED,
                field=["password"],
            )
        account = await checked_password(deps, clean, password[:MAX_PASSWORD])
        await deps.store.accounts.update_one(
            {"_id": account["_id"], "phone_verified_at": None},
            {"$set": {"phone_verified_at": now()}},
        )
    await forget_attempts(deps, clean)
    if account.get("status", ACTIVE) != ACTIVE:
        raise _disabled()
    return await open_session(deps, account, told=NEW_LOG_IN)
