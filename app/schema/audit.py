"""The audit log: the entry type."""

from __future__ import annotations

import datetime as dt
import json

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.accounts import Account
from app.store import Doc


@strawberry.type(
    description="One line of the audit log: who did what and why. Entries are chained (each holds "
    "the hash of the one before) and never change. Seen by ADMIN only.",
)
class AuditEntry:
    doc: strawberry.Private[Doc]
    at: dt.datetime = strawberry.field(description="When (UTC).")
    action: str = strawberry.field(
        description="What was done, as noun.verb: e.g. police.residents, police.accessEvents, "
        "account.setStatus, door.open, lease.start, deposit.settle."
    )
    reason: str | None = strawberry.field(
        description="The reason given (a police case reference, an admin's reason), at most 200 "
        "characters; null where none is asked."
    )
    target: str | None = strawberry.field(
        description="What it was done to: the global ID of the object, or a description; null for "
        "a search."
    )

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

    @strawberry.field(description="The account that did it.")
    async def account(self, info: Info) -> Account:
        doc = await info.context.loaders.account_by_id.load(self.doc["account_id"])
        if doc is None:  # entries outlive nothing: accounts are never deleted
            raise ValueError("audit entry names an unknown account")
        return Account.from_doc(doc)

    @strawberry.field(description="What the query asked for, as JSON (police queries).")
    def details(self) -> str | None:
        details = self.doc.get("details")
        return json.dumps(details, ensure_ascii=False, default=str) if details else None
