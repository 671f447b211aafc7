"""What a log line may hold: never personal data or secrets.

Anju holds ID numbers, phones, names and passwords; a log is copied to places (files, a log
service, a support ticket) where none of them may go. Two rules, both here so that any log
formatter (plain text today, JSON tomorrow) applies the same ones:

- **Errors are described by structure, never by message.** `error_fields` is the one place
  that decides what an error log holds: its code, the request id, the operation's name, the
  field path, the exception's type and where it was raised (file, line, function). An
  exception's message is left out: a duplicate-key error quotes the key (a phone), graphql-core
  quotes the variables it could not coerce (a log-in's password, an occupant's ID number).
- **Every line is scrubbed** (`redact`, applied by `RedactingFilter` on every handler): ID
  numbers, mobile numbers, card numbers, tokens and `password`-like fields become `[…]`, and
  a record's exception becomes its type and frames (`exception_summary`).

`install()` puts the filter on the root logger's handlers and on uvicorn's; the tests run
hostile inputs and scan the log for what they sent (tests/test_log_safety.py).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote_plus

REDACTED = "[…]"

# resident ID numbers (18 characters, the last may be X), mainland mobiles, 16-digit card
# numbers, and any other long run of digits; JSON Web Tokens and bearer credentials; the values
# of fields that hold secrets or personal data, in JSON or Python's repr
_PATTERNS = [
    re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])"),
    re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"),
    re.compile(r"(?<!\d)\d{11,}(?!\d)"),
    re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*"),
    re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+"),
]
_SENSITIVE_FIELDS = (
    r"password|currentPassword|newPassword|phoneCode|refreshToken|accessToken|token"
    r"|secret|idNumber|id_number|visitorIdNumber|phone|tenantPhone|contactPhone|reason"
)
_FIELD_VALUE = re.compile(
    r"""(?P<key>["']?\b(?:"""
    + _SENSITIVE_FIELDS
    + r""")\b["']?\s*[:=]\s*)(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,}\]]+)""",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with every ID number, phone, card number, token and sensitive field's value
    replaced by `[…]`; percent-encoded text (a URL's query string, in an access log) is
    decoded first, so that `%22idNumber%22%3A%22330…` is caught too."""
    if "%" in text:
        text = unquote_plus(text)
    text = _FIELD_VALUE.sub(lambda m: m.group("key") + REDACTED, text)
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def exception_summary(error: BaseException, *, frames: int = 8) -> str:
    """An exception as the log may show it: its type and the innermost frames where it was
    raised (file:line in function), never its message, nor its causes' messages."""
    parts = [type(error).__qualname__]
    stack = traceback.extract_tb(error.__traceback__)[-frames:]
    if stack:
        parts.append(
            " < ".join(f"{_short(f.filename)}:{f.lineno} in {f.name}" for f in reversed(stack))
        )
    cause = error.__cause__ or error.__context__
    if cause is not None and cause is not error:
        parts.append(f"(from {type(cause).__qualname__})")
    return " ".join(parts)


def _short(filename: str) -> str:
    for anchor in ("/app/", "/site-packages/", "/sim/"):
        at = filename.rfind(anchor)
        if at >= 0:
            return filename[at + 1 :]
    return filename.rsplit("/", 1)[-1]


def error_fields(
    *,
    code: str,
    request_id: str | None,
    operation: str | None,
    path: Sequence[str | int] | None,
    error: BaseException | None,
) -> dict[str, Any]:
    """The one place that decides what an error log holds."""
    return {
        "code": code,
        "requestId": request_id or "-",
        "operation": operation or "-",
        "path": ".".join(str(p) for p in path) if path else "-",
        "error": exception_summary(error) if error is not None else "-",
    }


def log_error(
    logger: logging.Logger,
    level: int,
    *,
    code: str,
    request_id: str | None,
    operation: str | None = None,
    path: Sequence[str | int] | None = None,
    error: BaseException | None = None,
) -> None:
    """Logs an error with what `error_fields` allows, as `key=value` pairs."""
    fields = error_fields(
        code=code, request_id=request_id, operation=operation, path=path, error=error
    )
    logger.log(level, "%s", " ".join(f"{k}={v}" for k, v in fields.items()), extra=fields)


class RedactingFilter(logging.Filter):
    """Scrubs a record before any handler formats it: its message (with its arguments) goes
    through `redact`, its exception becomes `exception_summary` (no message, no locals)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: keep the template only
            message = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            message = f"{message} [{exception_summary(record.exc_info[1])}]"
        record.msg = redact(message)
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


_FILTER = RedactingFilter()
_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "strawberry", "anju")


def install() -> None:
    """Puts the redacting filter on every handler of the root logger and of uvicorn's (a
    handler's filter sees the records of every logger that reaches it). Idempotent."""
    for name in _LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
