"""The audit log: the entry type."""

from __future__ import annotations

import datetime as dt
import json

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.accounts import Account
from app.store import Doc


@strawberry.type
class AuditEntry:
    doc: strawberry.Private[Doc]
    at: dt.datetime
    action: str
    reason: str | None
    target: str | None

    @classmethod
    def from_doc(cls, doc: Doc) -> AuditEntry:
        target = doc.get("target")
        if isinstance(target, dict):  # an object acted on: its global ID
            target = encode_id(target["type"], target["id"])
        return cls(
            doc=doc,
            at=doc["at"],
            action=doc["action"],
            reason=doc.get("reason"),
            target=target,
        )

    @strawberry.field
    async def account(self, info: Info) -> Account:
        doc = await info.context.loaders.account_by_id.load(self.doc["account_id"])
        if doc is None:  # entries outlive nothing: accounts are never deleted
            raise ValueError("audit entry names an unknown account")
        return Account.from_doc(doc)

    @strawberry.field(description="What the query asked for, as JSON (police queries).")
    def details(self) -> str | None:
        details = self.doc.get("details")
        return json.dumps(details, ensure_ascii=False, default=str) if details else None
