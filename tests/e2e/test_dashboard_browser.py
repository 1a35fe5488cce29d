"""The reports dashboard in a real headless browser (Debian's chromium, over the DevTools
protocol): it loads with no failed request, no request out and no console error, in
English and in French, and every figure it shows is the API's for the same parameters.

Set ``NURTURE_SCREENSHOTS`` to a folder to keep the screenshots the test takes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import pytest_asyncio
import uvicorn

from nurture.adapters.factlog import SqliteFactStore
from nurture.adapters.links.tokens import TokenSigner
from nurture.config.settings import Settings
from nurture.services.dashboard_link import dashboard_url
from tests.api.apitools import KEY
from tests.dashboard import check_figures, dashboard_app, load_log
from tests.e2e.browser import Page, chromium_binary, open_page
from tests.waiting import eventually

pytestmark = pytest.mark.skipif(
    chromium_binary() is None,
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


@pytest_asyncio.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The API on a free loopback port over a realistic log of 800 leads in SQLite."""
    store = SqliteFactStore(tmp_path_factory.mktemp("facts") / "facts.sqlite3")
    config = await load_log(store, leads=800)
    app = dashboard_app(store, config)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    await store.close()


def _link(origin: str, **params: str) -> str:
    signer = TokenSigner(Settings().secret())
    url = dashboard_url(signer, origin, datetime.now(UTC), timedelta(hours=1), **params)
    assert url.startswith(f"{origin}/reports?")
    return url


async def _screenshot(page: Page, name: str, fallback: Path) -> None:
    folder = Path(os.environ.get("NURTURE_SCREENSHOTS") or fallback)
    png = await page.screenshot()
    await asyncio.to_thread((folder / f"dashboard-{name}.png").write_bytes, png)


class TestDashboardInBrowser:
    """A manager opening the signed link sees a whole, quiet page whose every figure is
    the API's, in English and in French, and keeps access when changing the range."""

    @pytest.mark.parametrize("lang", ["en", "fr"])
    async def test_figures_equal_the_api(self, server: str, lang: str, tmp_path: Path) -> None:
        """No failed or outside request, no console error, every figure the API's."""
        query = {"since": "2026-01-01", "until": "2026-10-01"}
        async with open_page(server) as page:
            await page.goto(_link(server, lang=lang, by="source", **query))
            assert await page.evaluate("document.documentElement.lang") == lang
            checked = await check_figures(page, server, KEY, {**query}, lang)
            await _screenshot(page, lang, tmp_path)
            assert page.problems == []
            fetched = [url for url in page.requests if not url.startswith("data:")]
            assert len(fetched) == 1  # the page itself: nothing else to fetch
        assert checked > 300

    async def test_the_form_keeps_the_link_working(self, server: str) -> None:
        """Changing the grouping and the range through the form keeps the token, and the
        new page's figures are the API's for the new parameters."""
        async with open_page(server) as page:
            await page.goto(_link(server, lang="en"))
            await page.submit(
                "document.getElementById('by').value = 'utm_campaign';"
                "document.getElementById('since').value = '2026-03-01';"
                "document.querySelector('form.controls').requestSubmit(); true"
            )
            url = urlsplit(await page.evaluate("location.href"))
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            assert params["by"] == "utm_campaign" and "token" in params
            heading = await page.evaluate(
                "document.getElementById('by-utm_campaign-title').textContent"
            )
            assert heading == "Conversion by UTM campaign"
            await check_figures(page, server, KEY, {"since": "2026-03-01"}, "en")
            assert page.problems == []

    async def test_without_a_link_the_page_says_what_to_do(self, server: str) -> None:
        """No token: a 401 page that names the command printing a link."""
        async with open_page(server) as page:
            await page.goto(f"{server}/reports?{urlencode({'lang': 'en'})}")
            text = await page.evaluate("document.body.innerText")
            assert "nurture report open" in text
