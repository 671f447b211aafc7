"""The current time, always UTC and truncated to milliseconds (what BSON stores).

Under ANJU_ENV=test (and only there) the clock can be moved forward: the test suite's
`POST /test/clock` (app/routes/testing.py) sets an offset, so that expiries, due dates and
deadlines can be reached without waiting for them.
"""

from __future__ import annotations

import datetime as dt

_offset = dt.timedelta(0)


def now() -> dt.datetime:
    t = dt.datetime.now(dt.UTC) + _offset
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def today() -> dt.date:
    return now().date()


def set_offset(seconds: float) -> None:
    """Moves this process's clock `seconds` ahead of the real one (tests only)."""
    global _offset
    _offset = dt.timedelta(seconds=seconds)
