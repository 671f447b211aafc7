"""Changing a password (knowing the current one) and resetting it (with a code sent to the
account's verified phone). Either ends every session of the account, tells the account
(ACCOUNT_SECURITY), is audited, and answers a fresh session for the caller."""

from __future__ import annotations

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, UserInputError
from app.services import audit, log_ins, phone_codes, rate_limits
from app.services.accounts import check_password
from app.services.sessions import Session, end_sessions, open_session
from app.store import Doc
from app.validation import normalize_phone
from app.viewer import Viewer

CHANGED = "Your password was changed and every other session ended."


async def change_password(
    deps: Deps, viewer: Viewer, *, current_password: str, new_password: str, client: str
) -> Session:
    account_id = viewer.require()
    errors = Collector()
    check_password(errors, new_password, field="newPassword")
    errors.raise_if_any()
    account = await deps.store.accounts.find_one({"_id": account_id}, {"phone": 1})
    if account is None:
        raise log_ins.refused()
    await rate_limits.auth_attempt(deps.store, deps.settings, phone=account["phone"], client=client)
    try:
        checked = await log_ins.checked_password(deps, account["phone"], current_password[:128])
    except UserInputError as exc:
        if exc.code == Code.INVALID_CREDENTIALS:
            raise UserInputError(
                "The current password is wrong.",
                code=Code.INVALID_CREDENTIALS,
                field=["currentPassword"],
            ) from exc
        raise
    return await _set_password(deps, checked, new_password, "account.changePassword")


async def reset_password(
    deps: Deps, *, phone: str, code: str, new_password: str, client: str
) -> Session:
    errors = Collector()
    clean = normalize_phone(phone)
    if clean is None:
        errors.add(["phone"], Code.INVALID_PHONE, "Enter a mainland mobile number.")
    check_password(errors, new_password, field="newPassword")
    errors.raise_if_any()
    assert clean is not None
    await rate_limits.auth_attempt(deps.store, deps.settings, phone=clean, client=client)
    await phone_codes.consume(deps, phone=clean, purpose=phone_codes.RESET_PASSWORD, code=code)
    account = await deps.store.accounts.find_one({"phone": clean})
    # a code is sent only to a verified phone of an account: anything else cannot get here
    if account is None or account.get("phone_verified_at") is None:
        raise phone_codes.invalid_code()
    await log_ins.forget_attempts(deps, clean)
    return await _set_password(deps, account, new_password, "account.resetPassword")


async def _set_password(deps: Deps, account: Doc, password: str, action: str) -> Session:
    hashed = await deps.passwords.hash(password)
    await deps.store.accounts.update_one(
        {"_id": account["_id"]}, {"$set": {"password_hash": hashed, "password_changed_at": now()}}
    )
    ended = await end_sessions(deps.store, account["_id"], "password changed")
    await audit.record(
        deps.store,
        account["_id"],
        action,
        target=("Account", account["_id"]),
        details={"sessionsEnded": ended},
    )
    return await open_session(deps, account, told=CHANGED)
