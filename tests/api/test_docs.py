"""The API docs: /docs and /redoc need nothing but the API itself, and the OpenAPI document
marks every operation with what the route really enforces (checked by calling it)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from pydantic import SecretStr

from nurture.api import create_app
from nurture.api.access import API_KEY, SECURITY_SCHEMES, documented_routes
from nurture.api.deps import require_scope
from nurture.api.docs import ASSETS_PATH
from nurture.api.security import SCOPES
from nurture.config.settings import ApiSettings, Settings
from nurture.testing import MemoryFactStore, MemoryLeadGateway, MemoryLedger
from tests.helpers import ROOT

KEYS = {scope: f"key-with-{scope}" for scope in SCOPES}
"""One key per scope, each with that scope only."""


def _app():  # type: ignore[no-untyped-def]
    entries = ",".join(
        f"sha256:{hashlib.sha256(key.encode()).hexdigest()}:{scope}" for scope, key in KEYS.items()
    )
    settings = Settings(
        home=ROOT,
        api=ApiSettings(keys=entries, public_rate="off"),
        webhook_secret=SecretStr("docs-hook"),
    )
    return create_app(
        settings, gateway=MemoryLeadGateway(), ledger=MemoryLedger(), facts=MemoryFactStore()
    )


APP = _app()
OPERATIONS = [
    (method, route.path_format)
    for route in documented_routes(APP)
    for method in sorted(route.methods or ())
]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(APP) as test_client:
        yield test_client


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href", "spec-url") and v]


def _referenced(html: str) -> list[str]:
    links = _Links()
    links.feed(html)
    return links.urls + re.findall(r"url: '([^']+)'", html)


_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".json": "json"}


class TestDocsPages:
    """/docs and /redoc reference only the API's own URLs, and each answers 200 with the
    right content type; the assets are cached for a year."""

    @pytest.mark.parametrize("page", ["/docs", "/redoc"])
    def test_only_same_origin_urls(self, client: TestClient, page: str) -> None:
        """Every script, style sheet, icon and schema URL is a path on the API."""
        response = client.get(page)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "http:" not in response.text and "https:" not in response.text
        urls = _referenced(response.text)
        assert "/openapi.json" in urls and any(u.endswith(".js") for u in urls)
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), url
            answer = client.get(url)
            assert answer.status_code == 200, url
            wanted = next(kind for end, kind in _TYPES.items() if url.endswith(end))
            assert wanted in answer.headers["content-type"], (url, answer.headers)
            if url.startswith(ASSETS_PATH):
                assert "max-age=31536000" in answer.headers["cache-control"]

    def test_redoc_fetches_no_font_nor_logo(self, client: TestClient) -> None:
        """Redoc's page loads no Google font, and its script no longer names the CDN logo."""
        assert "fonts.googleapis" not in client.get("/redoc").text
        script = client.get(f"{ASSETS_PATH}/redoc.standalone.js").text
        assert "cdn.redoc.ly" not in script

    @pytest.mark.parametrize("name", ["core.py", "..%2F__init__.py", "favicon.ico"])
    def test_other_files_are_not_served(self, client: TestClient, name: str) -> None:
        """Only the four assets: nothing else of the package, nothing around it."""
        assert client.get(f"{ASSETS_PATH}/{name}").status_code == 404

    def test_an_older_version_path_is_not_served(self, client: TestClient) -> None:
        """A cached year must not pin an old path to new files."""
        assert client.get("/docs-assets/0.0.1/swagger-ui.css").status_code == 404


def _call(client: TestClient, method: str, path: str, key: str | None) -> int:
    url = re.sub(r"\{[^}]+\}", "x", path)
    headers = {"X-API-Key": key} if key else {}
    body = None if method == "GET" else {}
    return client.request(method, url, json=body, headers=headers).status_code


class TestAccessMarks:
    """Every operation is marked, and the mark is what the route enforces: a public one lets
    anyone in, a keyed one answers 401 without a key, 403 to a key without its scope, and
    lets its scope in."""

    def test_every_operation_is_marked(self) -> None:
        """A security requirement on every operation, naming only declared schemes."""
        schema = APP.openapi()
        assert schema["components"]["securitySchemes"] == SECURITY_SCHEMES
        assert SECURITY_SCHEMES[API_KEY]["name"] == "X-API-Key"
        count = 0
        for operations in schema["paths"].values():
            for operation in operations.values():
                count += 1
                assert isinstance(operation["security"], list)
                assert {n for need in operation["security"] for n in need} <= set(SECURITY_SCHEMES)
                assert "**Access:**" in operation["description"]
        assert count == len(OPERATIONS) > 15

    def test_the_public_ones_are_those_of_the_issue(self) -> None:
        """Forms, unsubscribe, confirmation, tracking and health are public; reading leads
        is not."""
        public = {
            path
            for path, operations in APP.openapi()["paths"].items()
            for operation in operations.values()
            if operation["security"] == []
        }
        for prefix in ("/v1/forms/", "/u/", "/c/", "/r/", "/o/", "/healthz"):
            assert any(path.startswith(prefix) for path in public), prefix
        assert not any(
            path.startswith(("/v1/leads", "/v1/events", "/v1/reports")) for path in public
        )

    @pytest.mark.parametrize(("method", "path"), OPERATIONS)
    def test_the_mark_is_what_the_route_enforces(
        self, client: TestClient, method: str, path: str
    ) -> None:
        """Called without credentials, and with a key of each scope, the route answers
        as its mark says."""
        security = APP.openapi()["paths"][path][method.lower()]["security"]
        anonymous = _call(client, method, path, None)
        if security == []:
            assert anonymous not in (401, 403), (method, path, anonymous)
            return
        assert anonymous == 401, (method, path, anonymous)
        for scopes in (need[API_KEY] for need in security if API_KEY in need):
            assert len(scopes) == 1  # a key names one scope, or admin (which has all)
            for scope, key in KEYS.items():
                status = _call(client, method, path, key)
                if scope in (scopes[0], "admin"):
                    assert status not in (401, 403), (method, path, scope, status)
                else:
                    assert status == 403, (method, path, scope, status)
            assert (
                f"`{scopes[0]}` scope"
                in APP.openapi()["paths"][path][method.lower()]["description"]
            )


class TestNewRoutesAreMarked:
    """A route added later is marked from its own checks, with no list to update."""

    def test_a_scope_check_and_its_absence(self) -> None:
        """A router with ``require_scope("events")`` is keyed; a plain route is public."""
        app = _app()
        app.openapi()  # built once before the routes are added, as a running app would
        router = APIRouter(dependencies=[Depends(require_scope("events"))])

        @router.get("/v1/new-keyed")
        async def keyed() -> dict[str, str]:
            return {}

        @app.get("/new-public")
        async def public() -> dict[str, str]:
            return {}

        app.include_router(router)
        paths = app.openapi()["paths"]
        assert paths["/v1/new-keyed"]["get"]["security"] == [{API_KEY: ["events"]}]
        assert paths["/new-public"]["get"]["security"] == []
