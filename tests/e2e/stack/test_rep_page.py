"""A sales rep acts from the alert on the dev server, in a real browser: the link in the
alert opens the lead's page (no API key, no login), Accept accepts it, and the CLI then
says so; an altered link shows a clear page and changes nothing.

Set ``NURTURE_SCREENSHOTS`` to a folder to keep the screenshots the test takes."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from nurture.devtools.stack import DevStack
from nurture.testing import ScriptedSmtpServer
from tests.e2e.browser import Page, chromium_binary, open_page
from tests.e2e.stack.tools import assigned_sql, lead_when, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(chromium_binary() is None, reason="needs Debian's chromium (apt)"),
]
_LINK = re.compile(r"https?://[^/\s]+(/s/lead/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")


class TestFromTheAlert:
    """From the alert in the SMTP sink to an accepted lead, through the rep's page."""

    def test_open_the_link_click_accept(
        self, api: httpx.Client, smtp: ScriptedSmtpServer, stack: DevStack, tmp_path: Path
    ) -> None:
        view = assigned_sql(api, "grace@rep-page.example", "Grace")
        lead_id = view["lead_id"]
        owner = view["handoffs"][-1]["owner_email"]
        wait_until(lambda: _alert_link(smtp, owner, lead_id) is not None, within=30)
        path = _alert_link(smtp, owner, lead_id)
        assert path is not None
        base = str(api.base_url).rstrip("/")
        forged = _altered(path)
        shots = Path(os.environ.get("NURTURE_SCREENSHOTS") or tmp_path)
        texts = asyncio.run(_accept_in_browser(base, path, forged, shots))
        assert "Grace" in texts["page"] and "Accept" in texts["page"]
        assert "not valid" in texts["forged"] and "Nothing was changed" in texts["forged"]
        assert "the lead is yours" in texts["after"], texts["after"]
        mine = texts["desk"].split("The pool")[0]
        assert "Grace" in mine and "accepted" in mine, texts["desk"]
        accepted = lead_when(api, lead_id, lambda v: v["handoffs"][-1]["accepted_at"] is not None)
        assert accepted["sales_log"][-1]["kind"] == "accepted"
        shown = _cli(base, "lead", "show", lead_id)
        assert "accepted" in shown.lower(), shown


def _alert_link(smtp: ScriptedSmtpServer, address: str, lead_id: str) -> str | None:
    """The path of the lead's link in the text part of its alert to ``address``."""
    for message in smtp.messages:
        if (
            str(message["X-Nurture-Template"]) != "sales_alert"
            or str(message["X-Nurture-Lead"]) != lead_id
        ):
            continue
        if message["To"].addresses[0].addr_spec != address:
            continue
        found = _LINK.search(_text_of(message))
        if found:
            return found.group(1)
    return None


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def _altered(path: str) -> str:
    body, _, signature = path.rpartition(".")
    return f"{body[:-1]}{'A' if body[-1] != 'A' else 'B'}.{signature}"


async def _accept_in_browser(base: str, path: str, forged: str, shots: Path) -> dict[str, str]:
    async with open_page(base) as page:
        await page.goto(base + forged)
        texts = {"forged": await _body(page)}
        await _keep(page, shots / "rep-forged.png")
        await page.goto(base + path)
        texts["page"] = await _body(page)
        await _keep(page, shots / "rep-lead.png")
        await page.submit("document.getElementById('action-accept').click()")
        texts["after"] = await _body(page)
        await _keep(page, shots / "rep-accepted.png")
        desk = await page.evaluate("document.querySelector('a[href^=\"/s/desk/\"]').href")
        texts["desk"] = await _eventually_listed(page, str(desk))
        await _keep(page, shots / "rep-desk.png")
        return texts


async def _eventually_listed(page: Page, desk: str) -> str:
    """The rep's leads page once visibility lists the accepted lead as theirs (it follows
    the workflow by a moment)."""
    for _ in range(20):
        await page.goto(desk)
        text = await _body(page)
        if "Grace" in text.split("The pool")[0]:
            break
        await asyncio.sleep(0.5)
    return text


async def _keep(page: Page, path: Path) -> None:
    png = await page.screenshot(width=1000)
    await asyncio.to_thread(path.write_bytes, png)


async def _body(page: Page) -> str:
    text = await page.evaluate("document.body.innerText")
    return str(text)


def _cli(base: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "nurture.cli", *args, "--api-url", base, "--api-key", "e2e-key"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
