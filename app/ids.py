"""Opaque global IDs: base64url of "Type:objectid". Validated before any query sees them."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId
from bson.errors import InvalidId

from app.errors import Code, UserInputError


def encode_id(type_name: str, oid: ObjectId | str) -> str:
    raw = f"{type_name}:{oid}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_id(gid: object) -> tuple[str, ObjectId] | None:
    """(type, ObjectId) of a well-formed global ID, else None."""
    if not isinstance(gid, str) or not 0 < len(gid) <= 64:
        return None
    try:
        raw = base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, hex_id = raw.partition(":")
    if not sep or not type_name.isalpha() or len(hex_id) != 24:
        return None
    try:
        return type_name, ObjectId(hex_id)
    except (InvalidId, TypeError):
        return None


def decode_id(gid: object, type_name: str, field: Sequence[str] | None = None) -> ObjectId:
    """The ObjectId inside a global ID of the expected type, or an INVALID_ID error."""
    parsed = parse_id(gid)
    if parsed is None or parsed[0] != type_name:
        raise UserInputError(f"Not a valid {type_name} ID.", code=Code.INVALID_ID, field=field)
    return parsed[1]


def decode_id_of(
    gid: object, type_names: Sequence[str], field: Sequence[str] | None = None
) -> ObjectId:
    """The ObjectId inside a global ID of one of several types (a Door, Camera or
    SmokeDetector: a device), or an INVALID_ID error."""
    parsed = parse_id(gid)
    if parsed is None or parsed[0] not in type_names:
        wanted = " or ".join(type_names)
        raise UserInputError(f"Not a valid {wanted} ID.", code=Code.INVALID_ID, field=field)
    return parsed[1]


@dataclass(frozen=True)
class GivenId:
    """An id as a client gave it, decoded when a service asks (`oid()`): a police look-up
    records what was asked even when the id is malformed."""

    type_name: str
    raw: str
    field: tuple[str, ...]

    def oid(self) -> ObjectId:
        return decode_id(self.raw, self.type_name, self.field)

    @property
    def shown(self) -> str:
        """The id as given, cut short for the audit log."""
        return str(self.raw)[:64]


def given_id(gid: object, type_name: str, *field: str) -> GivenId | None:
    return None if gid is None else GivenId(type_name, str(gid), field)
