"""The API docs in a real headless browser (Debian's chromium) with the network cut off:
every name but 127.0.0.1 fails to resolve and anything else goes to a dead proxy, so a page
that needs a CDN or web fonts stays blank and says so in the recorded problems.

Set ``NURTURE_SCREENSHOTS`` to a folder to keep the screenshots the test takes."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn

from nurture.api import create_app
from nurture.config.settings import ApiSettings, Settings
from nurture.testing import MemoryFactStore, MemoryLeadGateway, MemoryLedger
from tests.e2e.browser import Page, chromium_binary, open_page
from tests.helpers import ROOT
from tests.waiting import eventually

pytestmark = pytest.mark.skipif(
    chromium_binary() is None,
    reason="Debian's chromium is not installed (apt-get install chromium)",
)

KEY = "docs-key"
OFFLINE = (
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    # Addresses need no resolving: they go to a proxy nobody listens on.
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
)


@pytest_asyncio.fixture(scope="module")
async def server() -> AsyncIterator[tuple[str, int]]:
    """The API on a free loopback port, and how many operations its schema has."""
    settings = Settings(home=ROOT, api=ApiSettings(keys=KEY))
    app = create_app(
        settings, gateway=MemoryLeadGateway(), ledger=MemoryLedger(), facts=MemoryFactStore()
    )
    operations = sum(len(path) for path in app.openapi()["paths"].values())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", operations
    server.should_exit = True
    await task


async def _count_when_shown(page: Page, selector: str, wanted: int) -> int:
    """How many ``selector`` elements the page shows, once it shows ``wanted`` (or after
    30 s)."""
    script = f"document.querySelectorAll({selector!r}).length"

    async def shown() -> bool:
        return int(await page.evaluate(script)) >= wanted

    with contextlib.suppress(AssertionError):  # the count below says what was there
        await eventually(shown, within=30)
    return int(await page.evaluate(script))


async def _screenshot(page: Page, name: str, fallback: Path) -> None:
    """The first screen of the page, as a person opening it sees it."""
    await page.send(
        "Emulation.setDeviceMetricsOverride",
        width=1280,
        height=900,
        deviceScaleFactor=1,
        mobile=False,
    )
    await asyncio.sleep(0.5)  # a frame at the new size
    shot = await page.send("Page.captureScreenshot", format="png")
    folder = Path(os.environ.get("NURTURE_SCREENSHOTS") or fallback)
    await asyncio.to_thread(
        (folder / f"docs-{name}.png").write_bytes, base64.b64decode(shot["data"])
    )


_LIST_REPORTS = "#operations-reports-list_reports_v1_reports_get"
_AUTHORIZE = f"""(() => {{
  const box = [...document.querySelectorAll('.auth-container')]
    .find(c => c.querySelector('h4').textContent.startsWith('ApiKey'));
  const input = box.querySelector('input');
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, '{KEY}');
  input.dispatchEvent(new Event('input', {{bubbles: true}}));
  box.querySelector('button.authorize').click();
  return true;
}})()"""


async def _click(page: Page, selector: str) -> None:
    """Click the element ``selector`` finds, once the page shows it."""

    async def shown() -> bool:
        return bool(await page.evaluate(f"!!document.querySelector({selector!r})"))

    await eventually(shown, within=10)
    await page.evaluate(f"document.querySelector({selector!r}).click(), true")


class TestDocsOffline:
    """With no network but the API's, /docs and /redoc show every operation, fetch nothing
    from elsewhere, and log no error."""

    async def test_the_network_is_really_cut(self, server: tuple[str, int]) -> None:
        """A fetch from a CDN fails in this browser: the tests below prove something."""
        origin, _ = server
        async with open_page(origin, OFFLINE) as page:
            await page.goto(f"{origin}/healthz")
            answer = await page.send(
                "Runtime.evaluate",
                expression=(
                    "fetch('https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css')"
                    ".then(() => 'reached', () => 'blocked')"
                ),
                awaitPromise=True,
                returnByValue=True,
            )
        assert answer["result"]["value"] == "blocked"

    async def test_swagger_ui_shows_every_operation(
        self, server: tuple[str, int], tmp_path: Path
    ) -> None:
        """/docs lists as many operations as the schema has, and an Authorize button."""
        origin, operations = server
        async with open_page(origin, OFFLINE) as page:
            await page.goto(f"{origin}/docs")
            shown = await _count_when_shown(page, ".opblock", operations)
            authorize = await page.evaluate("!!document.querySelector('.btn.authorize')")
            await _screenshot(page, "swagger", tmp_path)
            assert page.problems == []
            assert all(url.startswith((origin, "data:")) for url in page.requests)
        assert shown == operations
        assert authorize

    async def test_redoc_shows_every_operation(
        self, server: tuple[str, int], tmp_path: Path
    ) -> None:
        """/redoc renders a section per operation of the schema, with no web font."""
        origin, operations = server
        async with open_page(origin, OFFLINE) as page:
            await page.goto(f"{origin}/redoc")
            shown = await _count_when_shown(page, "[data-section-id^='operation/']", operations)
            await _screenshot(page, "redoc", tmp_path)
            assert page.problems == []
            assert all(url.startswith((origin, f"blob:{origin}", "data:")) for url in page.requests)
        assert shown == operations

    async def test_authorize_sends_the_real_key(self, server: tuple[str, int]) -> None:
        """The key given under "Authorize" goes as X-API-Key: trying a keyed operation
        answers 200."""
        origin, _ = server
        async with open_page(origin, OFFLINE) as page:
            await page.goto(f"{origin}/docs")
            await _click(page, ".btn.authorize")
            await _click(page, ".auth-container input")
            await page.evaluate(_AUTHORIZE)
            await _click(page, ".btn-done")
            await _click(page, f"{_LIST_REPORTS} .opblock-summary-control")
            await _click(page, f"{_LIST_REPORTS} .try-out__btn")
            await _click(page, f"{_LIST_REPORTS} .execute")
            status = f"{_LIST_REPORTS} .live-responses-table .response .response-col_status"
            await _click(page, status)
            code = await page.evaluate(f"document.querySelector({status!r}).textContent")
            curl = await page.evaluate(
                f"document.querySelector('{_LIST_REPORTS} .curl').textContent"
            )
            assert page.problems == []
        assert code.strip() == "200"
        assert f"X-API-Key: {KEY}" in curl
