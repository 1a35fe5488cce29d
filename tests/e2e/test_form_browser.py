"""The README's plain HTML form in a real headless browser (Debian's chromium): served
from a landing page on another origin, as on a user's site, it lands the visitor on the
thank-you page with the promised link, in their language; a bad field shows the error
page; a bot filling the honeypot sees the same thank-you and creates nothing. The
unsubscribe page a lead opens from an email, in the email's language.

Set ``NURTURE_SCREENSHOTS`` to a folder to keep the screenshots the test takes."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from nurture.adapters.links.links import Links
from nurture.adapters.links.tokens import TokenSigner
from nurture.api import create_app
from nurture.config.settings import ApiSettings, Settings
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.api.apitools import KEY
from tests.conftest import write_always_open_config
from tests.e2e.browser import Page, chromium_binary, open_page
from tests.helpers import ROOT
from tests.waiting import eventually

pytestmark = pytest.mark.skipif(
    chromium_binary() is None,
    reason="Debian's chromium is not installed (apt-get install chromium)",
)

GUIDE_URL = "https://www.example.com/guides/buying-guide.pdf"


def _readme_block(after: str, starts: str) -> str:
    """The first html block of the README after ``after`` that starts with ``starts``."""
    text = (ROOT / "README.md").read_text()
    rest = text[text.index(after) :]
    found = re.search(rf"```html\n({re.escape(starts)}.*?)\n```", rest, re.DOTALL)
    assert found is not None, f"the README lost its block after {after!r}"
    return found[1]


def readme_form() -> str:
    """The plain HTML form of the README, exactly as written there."""
    return _readme_block("A plain HTML form works as is", "<form")


def readme_token_script() -> str:
    """The README's script putting a form's rendered-at token in a static page."""
    return _readme_block("on a static page", "<script>")


@dataclass
class Site:
    """The API, and a landing page on another origin holding the README's form."""

    api: str
    landing: str
    gateway: MemoryLeadGateway


async def _serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


@asynccontextmanager
async def _site(page: str, config_file: Path | None = None) -> AsyncIterator[Site]:
    """The landing page (``page``, its API origin ``http://127.0.0.1:8000`` as in the
    README) and the API, which lets the landing page's origin fetch (CORS)."""
    body: list[str] = []

    async def landing_page(request: Request) -> HTMLResponse:
        return HTMLResponse(
            '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            f"</head><body>{body[0]}</body></html>"
        )

    landing, landing_task, landing_origin = await _serve(
        Starlette(routes=[Route("/", landing_page)])
    )
    gateway = MemoryLeadGateway()
    settings = Settings(home=ROOT, api=ApiSettings(keys=KEY, cors_origins=landing_origin))
    if config_file is not None:
        settings = settings.model_copy(update={"config_file": config_file})
    app = create_app(settings, gateway=gateway, ledger=MemoryLedger())
    api, api_task, api_origin = await _serve(app)
    body.append(page.replace("http://127.0.0.1:8000", api_origin))
    try:
        yield Site(api_origin, f"{landing_origin}/", gateway)
    finally:
        for server, task in ((api, api_task), (landing, landing_task)):
            server.should_exit = True
            await task


@pytest_asyncio.fixture
async def site() -> AsyncIterator[Site]:
    async with _site(readme_form()) as started:
        yield started


async def _speak(page: Page, language: str) -> None:
    agent = await page.evaluate("navigator.userAgent")
    await page.send("Network.setUserAgentOverride", userAgent=agent, acceptLanguage=language)


async def _screenshot(page: Page, name: str, fallback: Path) -> None:
    folder = Path(os.environ.get("NURTURE_SCREENSHOTS") or fallback)
    png = await page.screenshot(width=900)
    await asyncio.to_thread((folder / f"public-{name}.png").write_bytes, png)


def _problems(page: Page, landing: str) -> list[str]:
    """What went wrong, but the landing page's own origin (not the API's) and an error
    page's status, which the test expects."""
    return [p for p in page.problems if landing not in p and "422" not in p]


class TestReadmeFormInBrowser:
    """A visitor filling the README's form lands on the thank-you page with the guide's
    link, in their language; the post created one lead; nothing on the page failed."""

    @pytest.mark.parametrize(
        ("lang", "accept", "words"),
        [("en", "en-US,en", "Download it now"), ("fr", "fr-FR,fr", "Le télécharger")],
    )
    async def test_lands_on_the_thank_you_page(
        self, site: Site, tmp_path: Path, lang: str, accept: str, words: str
    ) -> None:
        async with open_page(site.api) as page:
            await _speak(page, accept)
            await page.goto(site.landing)
            await page.submit(
                "document.querySelector('input[name=email]').value = 'ada@globex.example';"
                "document.querySelector('input[name=first_name]').value = 'Ada';"
                "document.querySelector('form button').click(); true"
            )
            assert (
                await page.evaluate("location.href") == f"{site.api}/thanks/white-paper?lang={lang}"
            )
            assert await page.evaluate("document.documentElement.lang") == lang
            assert await page.evaluate("document.getElementById('offer').href") == GUIDE_URL
            assert await page.evaluate("document.getElementById('offer').textContent") == words
            await _screenshot(page, f"thanks-{lang}", tmp_path)
            assert _problems(page, site.landing) == []
        [(_, submitted)] = site.gateway.forms
        assert submitted.lead.email == "ada@globex.example" and submitted.locale == lang

    async def test_a_bad_field_shows_the_error_page(self, site: Site, tmp_path: Path) -> None:
        """The browser's own check turned off (as an old browser or a bot): the 422 page
        names the field, in French, and links back to the landing page."""
        async with open_page(site.api) as page:
            await _speak(page, "fr-FR,fr")
            await page.goto(site.landing)
            await page.submit(
                "const form = document.querySelector('form'); form.noValidate = true;"
                "form.querySelector('input[name=email]').value = 'ada-at-globex';"
                "form.querySelector('button').click(); true"
            )
            text = await page.evaluate("document.getElementById('problems').innerText")
            assert "Adresse e-mail n'est pas une adresse e-mail valide" in text
            assert await page.evaluate("document.getElementById('back').href") == site.landing
            await _screenshot(page, "error-fr", tmp_path)
            assert _problems(page, site.landing) == []
        assert site.gateway.forms == []

    async def test_a_bot_filling_the_honeypot_sees_the_same_page(self, site: Site) -> None:
        async with open_page(site.api) as page:
            await page.goto(site.landing)
            await page.submit(
                "document.querySelector('input[name=email]').value = 'bot@spam.example';"
                "document.querySelector('input[name=website]').value = 'https://spam.example';"
                "document.querySelector('form button').click(); true"
            )
            assert await page.evaluate("location.pathname") == "/thanks/white-paper"
            assert await page.evaluate("document.getElementById('offer').href") == GUIDE_URL
        assert site.gateway.forms == []


class TestUnsubscribeInBrowser:
    """The unsubscribe link of a French lead's email: a French page, one button, done."""

    @pytest.mark.parametrize(
        ("locale", "done"), [("fr", "Vous êtes désinscrit"), ("en", "You are unsubscribed")]
    )
    async def test_in_the_emails_language(
        self, site: Site, tmp_path: Path, locale: str, done: str
    ) -> None:
        links = Links(TokenSigner(Settings().secret()), site.api, "u@example.com")
        url = links.unsubscribe_url(links.unsubscribe_token("L1", "a1b2", locale))
        async with open_page(site.api) as page:
            await _speak(page, "de-DE,de")  # the link's language wins over the browser's
            await page.goto(url)
            assert await page.evaluate("document.documentElement.lang") == locale
            await _screenshot(page, f"unsubscribe-{locale}", tmp_path)
            await page.submit("document.querySelector('form button').click(); true")
            assert await page.evaluate("document.querySelector('h1').textContent") == done
            await _screenshot(page, f"unsubscribed-{locale}", tmp_path)
            assert page.problems == []


class TestMinimumFillTime:
    """A static page with the README's token script: a person who takes their time gets
    through; a post sent at once is answered the same but creates nothing."""

    async def test_the_readme_script(self, tmp_path: Path) -> None:
        config = write_always_open_config(tmp_path)
        config.write_text(
            config.read_text().replace(
                'honeypot = "website"', 'honeypot = "website"\nmin_fill_seconds = 2'
            )
        )
        page_html = readme_form() + readme_token_script()
        async with _site(page_html, config) as site, open_page(site.api) as page:
            for wait, created in ((0, 0), (2.5, 1)):
                await page.goto(site.landing)
                await eventually(lambda: _has_token(page))
                await asyncio.sleep(wait)
                await page.submit(
                    "document.querySelector('input[name=email]').value = 'a@b.example';"
                    "document.querySelector('form button').click(); true"
                )
                assert await page.evaluate("location.pathname") == "/thanks/white-paper"
                assert len(site.gateway.forms) == created
            assert _problems(page, site.landing) == []


async def _has_token(page: Page) -> bool:
    return bool(await page.evaluate("!!document.querySelector('input[name=nurture_rendered]')"))
