"""Resident ID numbers (居民身份证号码, GB 11643-1999): validation, and how they are stored.

A number is 18 characters: a 6-digit region code (the first 2 a province), the birth date
YYYYMMDD, a 3-digit sequence and a check digit (0-9 or X) over the first 17. A number is
stored three ways, never in clear:
- `id_number_enc`: AES-256-GCM under ANJU_ID_NUMBER_KEY (base64 of 32 bytes), a random 96-bit
  nonce per value: version byte | nonce | ciphertext and tag. Only the police see it decrypted
  (`reveal_id_number`).
- `id_number_hash`: HMAC-SHA256 (hex) under a key derived from the same secret with HKDF (a
  distinct label), for exact look-up (one current registration per person, police search).
- `id_number_masked`: the first 6 and last 4 characters around 8 stars, what everyone else sees.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any

from bson.binary import Binary
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import Code, UserInputError
from app.settings import Settings, load_settings

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_DIGITS = "10X98765432"
# Province-level codes of GB/T 2260 (the first two digits of every region code).
PROVINCES = frozenset(
    {
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
    }
)
EARLIEST_BIRTH = dt.date(1900, 1, 1)
_VERSION = b"\x01"
_AAD = b"anju:id_number:v1"
_HASH_LABEL = b"anju:id_number:lookup-hmac:v1"


def normalize(raw: str | None) -> str:
    """What people type, trimmed, without inner spaces, with a capital X."""
    return "".join((raw or "").split()).upper()


def check_digit(first17: str) -> str:
    return CHECK_DIGITS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def with_check_digit(first17: str) -> str:
    return first17 + check_digit(first17)


def problem(number: str, today: dt.date | None = None) -> str | None:
    """Why a normalised number is not a valid resident ID number, or None if it is."""
    if len(number) != 18 or not number[:17].isdigit() or not number[:17].isascii():
        return "An ID number has 17 digits and a final digit or X."
    if not (number[17].isdigit() and number[17].isascii()) and number[17] != "X":
        return "An ID number has 17 digits and a final digit or X."
    if int(number[:2]) not in PROVINCES:
        return "The ID number's region code is not a valid one."
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "The ID number's birth date is not a real date."
    if born < EARLIEST_BIRTH or born > (today or dt.datetime.now(dt.UTC).date()):
        return "The ID number's birth date is out of range."
    if check_digit(number[:17]) != number[17]:
        return "The ID number's check digit is wrong."
    return None


def looked_up(raw: str, field: list[str]) -> str:
    """A number a look-up was given, normalised; INVALID_ID_NUMBER at `field` if invalid."""
    number = normalize(raw)
    if problem(number):
        raise UserInputError(
            "Not a valid resident ID number.", code=Code.INVALID_ID_NUMBER, field=field
        )
    return number


def mask(number: str) -> str:
    """330782********1234: the region code and the last four only."""
    return number[:6] + "*" * 8 + number[-4:]


@dataclass(frozen=True)
class IdNumberCipher:
    """Encrypts, decrypts and hashes ID numbers under one secret."""

    aead: AESGCM
    hash_key: bytes

    @classmethod
    def from_key(cls, key_b64: str) -> IdNumberCipher:
        try:
            key = base64.b64decode(key_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("ANJU_ID_NUMBER_KEY must be base64") from exc
        if len(key) != 32:
            raise ValueError("ANJU_ID_NUMBER_KEY must decode to 32 bytes")
        hash_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HASH_LABEL).derive(
            key
        )
        return cls(AESGCM(key), hash_key)

    def encrypt(self, number: str, nonce: bytes | None = None) -> Binary:
        """`nonce` is for reproducible synthetic data only; real values get a random one."""
        nonce = nonce if nonce is not None else os.urandom(12)
        return Binary(_VERSION + nonce + self.aead.encrypt(nonce, number.encode(), _AAD))

    def decrypt(self, blob: bytes) -> str:
        raw = bytes(blob)
        if raw[:1] != _VERSION:
            raise ValueError("unknown ID number encryption version")
        return self.aead.decrypt(raw[1:13], raw[13:], _AAD).decode()

    def lookup_hash(self, number: str) -> str:
        return hmac.new(self.hash_key, number.encode(), hashlib.sha256).hexdigest()

    def stored_fields(self, number: str, nonce: bytes | None = None) -> dict[str, Any]:
        """The three fields an occupant document keeps for a valid, normalised number."""
        return {
            "id_number_enc": self.encrypt(number, nonce),
            "id_number_hash": self.lookup_hash(number),
            "id_number_masked": mask(number),
        }


@functools.lru_cache(maxsize=4)
def cipher_for_key(key_b64: str) -> IdNumberCipher:
    return IdNumberCipher.from_key(key_b64)


def cipher(settings: Settings | None = None) -> IdNumberCipher:
    return cipher_for_key((settings or load_settings()).id_number_key)


def lookup_hash(number: str, settings: Settings | None = None) -> str:
    """The keyed hash of a number as typed (normalised first): for exact look-up."""
    return cipher(settings).lookup_hash(normalize(number))


def reveal_id_number(doc: dict[str, Any], settings: Settings | None = None) -> str:
    """The full ID number of an occupant document. For the police view only."""
    return cipher(settings).decrypt(doc["id_number_enc"])


__all__ = [
    "IdNumberCipher",
    "check_digit",
    "cipher",
    "lookup_hash",
    "mask",
    "normalize",
    "problem",
    "reveal_id_number",
    "with_check_digit",
]
