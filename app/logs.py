"""Logging: one line per event, plain text (development) or one JSON object a line
(ANJU_LOG_FORMAT=json, the production default), each carrying the request id of the request
or background pass that wrote it.

What a line may hold: time, level, logger, message, request id, and for the access line
(`anju.access`, one per HTTP request or WebSocket connection, written by app/observe.py) the
operation name, role, outcome, status and duration. Never personal data or secrets: the
callers log ids, never phones, names, ID numbers, passwords or tokens; and as a second line of
defence every line passes `redact`, which masks anything shaped like a mainland mobile
number, an ID number, a JSON Web Token, a bearer credential or a password field before it is
written (tests/test_operations.py signs up, logs in and registers residents, then scans the
log for each value it used).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import secrets
import sys
from typing import Any

import httpx

# the id of the request (or background pass) being served; "-" outside both
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_request_id", default="-"
)

REQUEST_ID_HEADER = "x-request-id"
# an id a trusted proxy may hand us (ANJU_TRUSTED_PROXIES > 0): short, plain characters
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    # JSON Web Tokens (three base64url parts, the first a JSON header)
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[token]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [credential]"),
    (
        re.compile(r"(?i)([\"']?(?:password|passwd|secret|token)[\"']?\s*[:=]\s*)[^\s,;}&]+"),
        r"\1[redacted]",
    ),
    # resident ID numbers: 17 digits and a check digit or X
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"), "[id-number]"),
    # mainland mobile numbers, with or without +86
    (re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9A-Za-z])"), "[phone]"),
]


def redact(text: str) -> str:
    """The text with anything shaped like personal data or a credential masked."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def new_request_id() -> str:
    return secrets.token_hex(8)


def given_request_id(value: str | None) -> str | None:
    """A request id a trusted proxy sent, if it is a plausible one."""
    return value if value and _GIVEN_ID.match(value) else None


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


# fields the access line (and any caller's `extra=`) may add to a JSON line
FIELDS = ("operation", "role", "outcome", "status", "duration_ms", "method", "route", "kind")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


QUIET_LIBRARIES = ("pymongo", "httpx", "httpcore", "websockets", "asyncio", "PIL")


def configure(log_format: str, level: str = "INFO") -> None:
    """Sends every logger (ours, uvicorn's, the libraries') through one handler on stderr
    in the chosen format. Called once per worker process (app.main.app_factory, the CLI)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        named = logging.getLogger(name)
        named.handlers = []
        named.propagate = True
    # Anju writes its own access line (app/observe.py), without the client's address
    access = logging.getLogger("uvicorn.access")
    access.handlers, access.propagate = [], False
    # the libraries' debug output holds what went over the wire (commands with their
    # documents, WebSocket frames, headers): never below WARNING, whatever ANJU_LOG_LEVEL says
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


async def add_request_id(request: httpx.Request) -> None:
    """An httpx request hook: the gateway, payment provider and SMS provider receive the id
    of the request (or background pass) on whose behalf they are called, to match their
    logs with ours."""
    request_id = current_request_id.get()
    if request_id != "-":
        request.headers[REQUEST_ID_HEADER] = request_id
