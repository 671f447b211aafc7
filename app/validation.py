"""Small input checks shared by every service; each reports into a Collector."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

from app.errors import Code, Collector

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE = re.compile(r"^1[3-9]\d{9}$")


def clean_text(
    errors: Collector,
    field: Sequence[str],
    value: str | None,
    *,
    max_len: int,
    required: bool = True,
    multiline: bool = False,
) -> str:
    """Trims, normalises to NFC and refuses control characters and over-long text."""
    text = unicodedata.normalize("NFC", (value or "")).strip()
    if not multiline:
        text = " ".join(text.split())
    if required and not text:
        errors.add(field, Code.REQUIRED, "This field is required.")
    elif len(text) > max_len:
        errors.add(field, Code.TOO_LONG, f"At most {max_len} characters.")
    elif _CONTROL.search(text):
        errors.add(field, Code.INVALID_ARGUMENT, "Control characters are not allowed.")
    return text


def check_int(
    errors: Collector, field: Sequence[str], value: int, *, low: int, high: int, code: str
) -> int:
    if not low <= value <= high:
        errors.add(field, code, f"Must be between {low} and {high}.")
    return value


def check_float(
    errors: Collector, field: Sequence[str], value: float, *, low: float, high: float, code: str
) -> float:
    if not math.isfinite(value) or not low <= value <= high:
        errors.add(field, code, f"Must be between {low} and {high}.")
    return value


def normalize_phone(raw: str) -> str | None:
    """A mainland mobile number as 11 digits, or None.

    Accepts spaces and dashes, and a +86 / 0086 / 86 country prefix, as people type them.
    """
    digits = re.sub(r"[\s\-()]", "", raw or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if _PHONE.match(digits) else None


def check_phone(errors: Collector, field: Sequence[str], raw: str) -> str:
    phone = normalize_phone(raw)
    if phone is None:
        errors.add(field, Code.INVALID_PHONE, "Enter a mainland mobile number (11 digits).")
        return ""
    return phone
