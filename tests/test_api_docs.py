"""The API reference (issue 26): `make docs` builds it from the schema with SpectaQL, and
development serves it at /docs; production never does. Its role table comes from the
operations' permission classes and its error table from app/errors.py.

The build needs the npm tools `make check` and `make docs` install (tools/apidocs); without
them the build test skips, saying so."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from app.errors import MEANINGS, Code
from app.schema import SESSION_MUTATIONS
from scripts import api_docs
from tests.conftest import Stack, another_anju
from tests.support import Api

ROOT = Path(__file__).resolve().parent.parent


def test_every_error_code_has_a_meaning_for_the_reference() -> None:
    # given every stable code the services may answer
    codes = {value for name, value in vars(Code).items() if name.isupper()}
    # then the reference's error table explains each, and nothing else
    assert set(MEANINGS) == codes
    assert all(meaning[0].isupper() and meaning.endswith(".") for meaning in MEANINGS.values())


def test_the_role_table_follows_the_permission_classes() -> None:
    # when the role table is made from the schema
    ops = {op.name: op for op in api_docs.operations((ROOT / "schema.graphql").read_text())}
    # then each operation admits exactly the roles its resolver does
    assert ops["residents"].who == {"POLICE"}
    assert ops["signUp"].who == set(api_docs.COLUMNS)
    assert ops["listings"].who == set(api_docs.COLUMNS)
    assert ops["startLease"].who == {"LANDLORD"}
    assert ops["alarmRaised"].kind == "subscription"
    # and POLICE calls no mutation but the session ones
    police = {op.name for op in ops.values() if op.kind == "mutation" and "POLICE" in op.who}
    assert police == SESSION_MUTATIONS
    # and the codes a mutation's description names are listed against it
    table = api_docs.code_table(list(ops.values()))
    assert re.search(r"\| `ROOM_NOT_VACANT` \| [^|]+ \|.*\[`startLease`\]", table)


@pytest.mark.skipif(
    not api_docs.SPECTAQL.exists(),
    reason="SpectaQL is not installed: `make docs` (or `make check`) installs it",
)
def test_make_docs_builds_the_reference_and_development_serves_it(
    api: Api, http: httpx.Client
) -> None:
    # when the reference is built, as `make docs` does
    page = api_docs.build()
    # then development serves it at /docs, under a policy that lets it load nothing
    served = http.get(f"{api.base_url}/docs")
    assert served.status_code == 200
    assert served.text == page.read_text()
    policy = served.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src" not in policy
    # and it holds the introduction, the role table, the error codes and the described types
    text = served.text
    assert "Anju API reference" in text
    assert 'href="#query-residents"' in text and "<td>✓</td>" in text
    assert "ROOM_NOT_VACANT" in text and "Only a VACANT room may be published or leased." in text
    assert 'id="definition-PageInfo"' in text and "hasPreviousPage" in text
    assert "Rent in fen a month, 1 to 100,000,000" in text  # StartLeaseInput.monthlyRentFen
    # and it loads nothing from anywhere else (links to elsewhere are only links)
    assert not re.search(r'src="(?:https?:)?//', text)
    assert not re.search(r'<link[^>]+href="(?:https?:)?//', text)


def test_without_introspection_there_is_no_reference(stack: Stack, http: httpx.Client) -> None:
    # given an Anju with introspection off, as in production
    with another_anju(stack, {"ANJU_INTROSPECTION": "off"}, "no-docs") as base_url:
        # when a browser asks for the reference
        answer = http.get(f"{base_url}/docs")
    # then there is no such page
    assert answer.status_code == 404
    assert "make docs" not in answer.text
