"""The simulator's settings beyond Anju's. The gateway and payment ones come from Anju's own
`app.settings.load_settings()`, so both sides read the same variables; SMS_TOKEN (DEVICES.md,
version 2) is read here the same way, with its development default beside theirs, until
app/settings.py grows the SMS settings (SMS_URL, SMS_TOKEN) and this can read them there."""

from __future__ import annotations

import os
from collections.abc import Mapping

from app.settings import DEV_SMS_TOKEN, SettingsError, production_mode


def load_sms_token(environ: Mapping[str, str] | None = None) -> str:
    """SMS_TOKEN, else the development default, which production rules refuse (ANJU_ENV
    other than development or test, unset included)."""
    env = os.environ if environ is None else environ
    token = env.get("SMS_TOKEN") or DEV_SMS_TOKEN
    if production_mode(env) and token == DEV_SMS_TOKEN:
        raise SettingsError("production rules refuse development defaults; set SMS_TOKEN")
    return token
