"""The current time, always UTC and truncated to milliseconds (what BSON stores)."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    t = dt.datetime.now(dt.UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def today() -> dt.date:
    return now().date()
