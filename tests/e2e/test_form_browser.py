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
from tests.e2e.browser import Page, chromium_binary, open_page
from tests.helpers import ROOT
from tests.waiting import eventually

pytestmark = pytest.mark.skipif(
    chromium_binary() is None,
    reason="Debian's chromium is not installed (apt-get install chromium)",
)

GUIDE_URL = "https://www.example.com/guides/buying-guide.pdf"


def readme_form() -> str:
    """The plain HTML form of the README, exactly as written there."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index("A plain HTML form works as is") :]
    found = re.search(r"```html\n(<form.*?</form>)\n```", after, re.DOTALL)
    assert found is not None, "the README lost its plain HTML form"
    return found[1]


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


@pytest_asyncio.fixture
async def site() -> AsyncIterator[Site]:
    gateway = MemoryLeadGateway()
    settings = Settings(home=ROOT, api=ApiSettings(keys=KEY))
    api, api_task, api_origin = await _serve(
        create_app(settings, gateway=gateway, ledger=MemoryLedger())
    )
    form = readme_form().replace("http://127.0.0.1:8000", api_origin)

    async def landing_page(request: Request) -> HTMLResponse:
        return HTMLResponse(
            '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            f"</head><body>{form}</body></html>"
        )

    landing, landing_task, landing_origin = await _serve(
        Starlette(routes=[Route("/", landing_page)])
    )
    yield Site(api_origin, f"{landing_origin}/", gateway)
    for server, task in ((api, api_task), (landing, landing_task)):
        server.should_exit = True
        await task


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
