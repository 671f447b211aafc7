"""GraphiQL at /graphql in a browser, served from Anju's own files: it renders and runs a
query with every request to anywhere else refused (a police intranet without Internet), its
files are exactly those Strawberry pins, and production never serves it.

The files come from `make graphiql` (npm, once); without them these tests skip, saying so."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import graphiql
from app.settings import load_settings
from devstack import browser
from tests.support import Api
from tests.test_cli import filled, readme_example

CHROMIUM = browser.find_chromium()
ARTIFACTS = Path(__file__).resolve().parent.parent / ".artifacts" / "graphiql"
pytestmark = pytest.mark.skipif(
    not graphiql.installed(), reason="GraphiQL's files are not installed: run `make graphiql`"
)


def test_the_page_names_only_anjus_own_files_each_with_its_pinned_hash(
    api: Api, http: httpx.Client
) -> None:
    # when a browser asks for /graphql
    page = http.get(f"{api.base_url}/graphql", headers={"accept": "text/html"})
    # then it gets GraphiQL under a policy that allows scripts from Anju alone
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "default-src 'none'" in policy
    # and every file it names is Anju's, with an integrity hash the file matches
    named = re.findall(r'(?:src|href)="([^"]+)"(?: integrity="([^"]+)")?', page.text)
    named = [(url, integrity) for url, integrity in named if url != "data:,"]  # no favicon
    assert len(named) == len(graphiql.pinned_assets()) + 1  # and our own script
    for url, integrity in named:
        assert url.startswith("/graphiql/assets/"), url
        served = http.get(f"{api.base_url}{url}")
        assert served.status_code == 200, url
        if integrity:
            assert graphiql.Asset("-", "-", "-", integrity).matches(served.content), url
    assert "http://" not in page.text and "https://" not in page.text
    # and nothing else is served from there
    assert http.get(f"{api.base_url}/graphiql/assets/../settings.py").status_code == 404


def test_production_never_serves_graphiql(tmp_path: Path) -> None:
    # given a production environment that asks for GraphiQL
    keys = tmp_path / "keys"
    from app.cli.keys import rotate

    rotate(keys)
    env = {**filled(readme_example(), keys), "ANJU_GRAPHIQL": "on"}
    # then it stays off
    assert load_settings(env).graphiql is False


@pytest.fixture
def page() -> Iterator[browser.Page]:
    if CHROMIUM is None:
        pytest.skip(browser.missing_message())
    with browser.chromium(CHROMIUM) as opened:
        yield opened


def test_graphiql_renders_and_runs_a_query_with_the_network_cut(
    api: Api, page: browser.Page
) -> None:
    # given a browser that can reach Anju and nothing else
    elsewhere: list[str] = []

    def only_anju(event: dict[str, Any]) -> None:
        url = event["request"]["url"]
        if url.startswith(api.base_url) or url.startswith("data:"):
            page.post("Fetch.continueRequest", {"requestId": event["requestId"]})
        else:
            elsewhere.append(url)
            page.post(
                "Fetch.failRequest", {"requestId": event["requestId"], "errorReason": "Failed"}
            )

    page.on("Fetch.requestPaused", only_anju)
    page.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
    page.set_viewport(1440, 900)
    # when it opens GraphiQL and runs a query
    page.navigate(str(httpx.URL(f"{api.base_url}/graphql", params={"q": "{ __typename }"})))
    page.wait_for("!!document.querySelector('.graphiql-execute-button')", timeout=60)
    page.evaluate("document.querySelector('.graphiql-execute-button').click()")
    # then the answer shows, nothing was asked of anywhere else, and nothing failed
    page.wait_for(
        "(document.querySelector('.graphiql-response') || {innerText: ''}).innerText"
        ".includes('Query')",
        timeout=30,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(ARTIFACTS / "graphiql-offline.png")
    assert elsewhere == []
    assert page.console_errors == []
