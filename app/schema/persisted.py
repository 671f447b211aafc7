"""Persisted operations ("trusted documents"): the phone apps, the back offices and the kiosk
send a fixed set of operations, kept in this repository as `.graphql` files under
app/operations/; `app/operations/manifest.json` maps each file's SHA-256 (hex, of its exact
bytes) to its text and is generated from the files (`make operations`, checked by a test).

A request names its document by `documentId` (`"sha256:<hex>"` or `"<hex>"`, the
GraphQL-over-HTTP trusted documents form), by Apollo's
`extensions.persistedQuery.sha256Hash`, or sends a `query` whose text is a manifest document.
Manifest documents are parsed and validated once, at start-up (an invalid one stops Anju);
their requests skip parsing and validation.

Any other document is an arbitrary one: served only where ANJU_ARBITRARY_DOCUMENTS is on
(development, GraphiQL, the test suite and scripts; production refuses the setting), never over
GET, so that variables, ID numbers and reasons only reach a URL (and the access logs of every
proxy on the way) as the variables of a known query. Refusals: PERSISTED_QUERY_NOT_FOUND (an
unknown id), PERSISTED_QUERY_REQUIRED (an arbitrary document where none is served),
PERSISTED_QUERY_MISMATCH (an id and a text that differ).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

OPERATIONS_DIR = Path(__file__).resolve().parent.parent / "operations"
MANIFEST = OPERATIONS_DIR / "manifest.json"
# set by the view on a request it matched to a manifest document (a client's value is dropped)
RESOLVED = "anju.persistedDocument"


class DocumentRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ManifestError(RuntimeError):
    """The manifest does not match its files, or holds a document the schema refuses."""


def document_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def operation_files(root: Path = OPERATIONS_DIR) -> Iterator[Path]:
    yield from sorted(root.rglob("*.graphql"))


def build_manifest(root: Path = OPERATIONS_DIR) -> dict[str, str]:
    """{sha256 hex: text} of every `.graphql` file under `root`."""
    return {document_id(p.read_text()): p.read_text() for p in operation_files(root)}


def manifest_json(manifest: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(manifest.items())), ensure_ascii=False, indent=2) + "\n"


@dataclass(frozen=True)
class Persisted:
    id: str
    name: str
    text: str
    document: DocumentNode


class PersistedDocuments:
    """The manifest's documents, parsed and validated once."""

    def __init__(self) -> None:
        self._by_id: dict[str, Persisted] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Persisted]:
        return iter(self._by_id.values())

    def load(
        self, schema: GraphQLSchema, rules: list[Any], manifest: Path = MANIFEST
    ) -> PersistedDocuments:
        """Reads the manifest; each document must hash to its key, hold exactly one named
        operation (unique across the manifest) and pass validation, with `rules` (the
        request limits) and no introspection. ManifestError otherwise."""
        entries = json.loads(manifest.read_text())
        names: set[str] = set()
        for key, text in entries.items():
            if document_id(text) != key:
                raise ManifestError(f"{manifest.name}: {key[:12]}… is not the hash of its text")
            try:
                document = parse(text)
            except GraphQLError as error:
                raise ManifestError(f"{key[:12]}…: {error.message}") from error
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) != 1 or operations[0].name is None:
                raise ManifestError(f"{key[:12]}…: one named operation per document")
            name = operations[0].name.value
            if name in names:
                raise ManifestError(f"{name}: two persisted operations have this name")
            names.add(name)
            errors = validate(
                schema, document, [*specified_rules, *rules, NoSchemaIntrospectionCustomRule]
            )
            if errors:
                raise ManifestError(f"{name}: {errors[0].message}")
            self._by_id[key] = Persisted(key, name, text, document)
        return self

    def get(self, key: str) -> Persisted | None:
        return self._by_id.get(key)

    def resolve(
        self,
        *,
        method: str,
        query: str | None,
        given_id: object,
        extensions: Mapping[str, Any] | None,
        allow_arbitrary: bool,
    ) -> Persisted | None:
        """The manifest document a request names, None for an arbitrary one that may be
        served; DocumentRefused otherwise."""
        apq = (extensions or {}).get("persistedQuery")
        if given_id is None and isinstance(apq, dict):
            given_id = apq.get("sha256Hash")
        if given_id is not None:
            if not isinstance(given_id, str):
                raise DocumentRefused("PERSISTED_QUERY_NOT_FOUND", "documentId must be a string.")
            key = given_id.removeprefix("sha256:").lower()
            found = self._by_id.get(key)
            if query is not None and document_id(query) != key:
                raise DocumentRefused(
                    "PERSISTED_QUERY_MISMATCH", "The query is not the document its id names."
                )
            if found is not None:
                return found
            if query is not None and allow_arbitrary and method != "GET":
                return None
            raise DocumentRefused("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        if query is None:
            return None  # Strawberry answers 400: no query
        found = self._by_id.get(document_id(query))
        if found is not None:
            return found
        if method == "GET":
            raise DocumentRefused(
                "PERSISTED_QUERY_REQUIRED",
                "Over GET only persisted documents are served (documentId); POST any other.",
            )
        if not allow_arbitrary:
            raise DocumentRefused(
                "PERSISTED_QUERY_REQUIRED",
                "Only the apps' persisted documents are served here: send their documentId.",
            )
        return None


class PersistedDocument(SchemaExtension):
    """A request the view matched to a manifest document runs that document as parsed and
    validated at start-up; any other is parsed (DocumentCache) and validated here, through a
    bounded cache of validations."""

    def __init__(self, documents: PersistedDocuments, validate_cached: Any) -> None:
        super().__init__()
        self.documents = documents
        self.validate_cached = validate_cached

    def _persisted(self) -> Persisted | None:
        key = (self.execution_context.operation_extensions or {}).get(RESOLVED)
        return self.documents.get(key) if isinstance(key, str) else None

    def on_parse(self) -> Iterator[None]:
        found = self._persisted()
        if found is not None:
            self.execution_context.graphql_document = found.document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        found = self._persisted()
        if found is not None and context.graphql_document is found.document:
            context.pre_execution_errors = []
        elif context.graphql_document is not None:
            context.pre_execution_errors = self.validate_cached(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
        yield


async def resolve_request(
    documents: PersistedDocuments,
    method: str,
    request_data: GraphQLRequestData,
    raw: Mapping[str, Any],
    allow_arbitrary: bool,
) -> None:
    """Points an HTTP request at the manifest document it names (its text, and the private
    extension that makes PersistedDocument use the document parsed at start), or leaves an
    arbitrary one as it is; DocumentRefused where it may not be served. `raw` is the request's
    JSON body or query parameters (Strawberry keeps no `documentId`)."""
    extensions = {k: v for k, v in (request_data.extensions or {}).items() if k != RESOLVED}
    found = documents.resolve(
        method=method,
        query=request_data.query,
        given_id=raw.get("documentId"),
        extensions=extensions,
        allow_arbitrary=allow_arbitrary,
    )
    if found is not None:
        request_data.query = found.text
        extensions[RESOLVED] = found.id
    request_data.extensions = extensions


class PersistedTransportWS(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws with the same rule: a `subscribe` message names a manifest
    document (`documentId`, `extensions.persistedQuery`, or its text), or is an arbitrary one
    where those are served; otherwise it gets an `error` message with the code."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload: dict[str, Any] = dict(message.get("payload") or {})
        settings = getattr(getattr(self.context, "state", None), "settings", None)
        allow = bool(getattr(settings, "arbitrary_documents", False))
        documents: PersistedDocuments = getattr(self.schema, "persisted", PersistedDocuments())
        try:
            found = documents.resolve(
                method="WS",
                query=payload.get("query"),
                given_id=payload.get("documentId"),
                extensions=payload.get("extensions"),
                allow_arbitrary=allow,
            )
        except DocumentRefused as refused:
            error = GraphQLError(refused.message, extensions={"code": refused.code})
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        if found is not None:
            payload["query"] = found.text
        await super().handle_subscribe({**message, "payload": payload})  # type: ignore[typeddict-item]
