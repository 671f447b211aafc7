"""Persisted operations: the apps' documents live in app/operations/ with a manifest by
SHA-256; production serves only those (by documentId, Apollo's persistedQuery, or their exact
text), GET only for them; development and the tests also serve arbitrary documents."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse

from app.schema import LIMIT_RULES, build_schema
from app.schema.persisted import (
    MANIFEST,
    ManifestError,
    PersistedDocuments,
    build_manifest,
    document_id,
    manifest_json,
    operation_files,
)
from app.tokens import generate_key_file
from devstack.anju import start_anju
from devstack.procs import free_port, stop
from tests.conftest import Stack
from tests.support import Api, Subscription, persisted_id, persisted_text
from tests.test_platform import PRODUCTION_SECRETS

ROOT = Path(__file__).resolve().parent.parent
UNKNOWN = "sha256:" + "0" * 64
KIOSK_VARIABLES = {"filter": {"community": "松门村"}, "first": 5}


def test_the_manifest_is_generated_from_the_operation_files() -> None:
    # given the .graphql files of app/operations / when the manifest is built from them
    # then it is the committed one (run `make operations` after changing a file)
    assert MANIFEST.read_text() == manifest_json(build_manifest()), "run `make operations`"
    # and each file holds one operation, named as the file
    for path in operation_files():
        (operation,) = parse(path.read_text()).definitions
        assert isinstance(operation, OperationDefinitionNode)
        assert operation.name is not None and operation.name.value == path.stem, path


def test_every_operation_of_the_api_is_used_by_a_persisted_document() -> None:
    # given the schema's root fields and the persisted documents
    schema = build_schema()
    used = {
        m for document in schema.persisted for m in re.findall(r"\b(\w+)\s*[({]", document.text)
    }
    roots = [schema._schema.query_type, schema._schema.mutation_type]
    roots.append(schema._schema.subscription_type)
    # then every operation an app may call has its document (add one in app/operations/)
    missing = [f"{t.name}.{n}" for t in roots if t for n in t.fields if n not in used]
    assert missing == []


def test_an_invalid_persisted_document_stops_the_start(tmp_path: Path) -> None:
    # given a manifest holding a document the schema refuses, or a wrong hash
    schema = build_schema(with_manifest=False)._schema
    bad = "query Bad { me { nosuchfield } }"
    for manifest in ({document_id(bad): bad}, {"0" * 64: "query Me { me { id } }"}):
        path = tmp_path / "manifest.json"
        path.write_text(json.dumps(manifest))
        # when it is loaded / then it is refused, naming the document
        with pytest.raises(ManifestError):
            PersistedDocuments().load(schema, LIMIT_RULES, path)


def test_the_kiosk_sends_its_persisted_document() -> None:
    script = (ROOT / "app/kiosk/static/kiosk.js").read_text()
    assert f'"{persisted_id("KioskListings")}"' in script
    assert "query" not in re.findall(r"body: JSON.stringify\(\{\s*(\w+)", script)


@pytest.fixture(scope="module")
def production(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Anju under production rules (real-looking secrets, its own database and keys)."""
    keys = tmp_path_factory.mktemp("production-keys")
    generate_key_file(keys)
    port = free_port()
    env = {
        "ANJU_ENV": "production",
        "MONGODB_URI": stack.mongodb_uri,
        "MONGODB_DB": f"{stack.db_name}_production",
        "ANJU_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GATEWAY_URL": stack.sim_url,
        "PAYMENTS_URL": stack.sim_url,
        "SMS_URL": stack.sim_url,
        "ANJU_JWT_KEYS_DIR": str(keys),
        "ANJU_STORAGE_DIR": str(stack.workdir / "production-files"),
        "ANJU_METRICS": "off",
        **PRODUCTION_SECRETS,
    }
    proc = start_anju(port, env, log_path=stack.workdir / "anju-production.log")
    try:
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        stop(proc)


def _codes(response: httpx.Response) -> list[str]:
    body: dict[str, Any] = response.json()
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def test_production_answers_persisted_documents(production: str, http: httpx.Client) -> None:
    # given Anju under production rules and the kiosk's persisted query
    kiosk_id = persisted_id("KioskListings")
    variables = json.dumps(KIOSK_VARIABLES)
    # when it is asked by documentId over POST and over GET, by Apollo's persistedQuery, and
    # by its exact text
    asked = [
        http.post(production, json={"documentId": kiosk_id, "variables": KIOSK_VARIABLES}),
        http.get(production, params={"documentId": kiosk_id, "variables": variables}),
        http.post(
            production,
            json={
                "extensions": {
                    "persistedQuery": {"version": 1, "sha256Hash": kiosk_id.split(":")[1]}
                },
                "variables": KIOSK_VARIABLES,
            },
        ),
        http.post(
            production,
            json={"query": persisted_text("KioskListings"), "variables": KIOSK_VARIABLES},
        ),
    ]
    # then each is answered
    for response in asked:
        assert response.status_code == 200, response.text
        assert response.json()["data"]["listings"]["edges"] == [], response.text


def test_production_refuses_any_other_document(production: str, http: httpx.Client) -> None:
    # given Anju under production rules
    # when a client sends a document of its own, over POST or GET, an unknown id, an id with
    # another text, an introspection query
    arbitrary = http.post(production, json={"query": "{ me { id name phone } }"})
    over_get = http.get(production, params={"query": "{ me { id } }"})
    unknown = http.post(production, json={"documentId": UNKNOWN})
    mismatch = http.post(
        production, json={"documentId": persisted_id("Me"), "query": "{ me { id } }"}
    )
    introspection = http.post(production, json={"query": "{ __schema { types { name } } }"})
    # then each is refused before it runs, with a code the client can act on
    assert _codes(arbitrary) == ["PERSISTED_QUERY_REQUIRED"]
    assert arbitrary.json()["data"] is None
    assert _codes(over_get) == ["PERSISTED_QUERY_REQUIRED"]
    assert _codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert _codes(mismatch) == ["PERSISTED_QUERY_MISMATCH"]
    assert _codes(introspection) == ["PERSISTED_QUERY_REQUIRED"]
    # and no GraphiQL is served
    page = http.get(production, headers={"accept": "text/html"})
    assert page.status_code == 404


def test_development_also_serves_arbitrary_documents(api: Api, http: httpx.Client) -> None:
    # given the test stack (development rules)
    url = f"{api.base_url}/graphql"
    # when a document of the client's own is posted, and a persisted one by its id
    own = http.post(url, json={"query": "{ me { id } }"})
    persisted = http.post(url, json={"documentId": persisted_id("Me")})
    # then both are answered; an unknown id is still refused, and GET still only serves
    # persisted documents
    assert own.json()["data"] == persisted.json()["data"] == {"me": None}
    assert _codes(http.post(url, json={"documentId": UNKNOWN})) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert _codes(http.get(url, params={"query": "{ me { id } }"})) == ["PERSISTED_QUERY_REQUIRED"]


def test_subscriptions_name_their_persisted_document(api: Api) -> None:
    # given a signed-in landlord
    landlord = api.caller("LANDLORD")
    # when it subscribes by an unknown documentId
    with Subscription(api.base_url, "", landlord.token, document_id=UNKNOWN) as unknown:
        refused = unknown.next(timeout=5)
    # then the subscription is refused with the code
    assert refused is not None and refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    # and by the documentId of the apps' live notifications, it delivers them (a new log-in
    # notifies the account)
    assert landlord.phone and landlord.password
    with Subscription(
        api.base_url, "", landlord.token, document_id=persisted_id("NotificationsLive")
    ) as live:
        api.log_in(landlord.phone, landlord.password)
        told = live.next(timeout=30)
    assert told is not None and told["notifications"]["kind"] == "ACCOUNT_SECURITY"
