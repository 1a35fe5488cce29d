"""A real headless browser for tests: Debian's ``chromium`` driven over the DevTools
protocol (a websocket, JSON commands and events), recording what a page does wrong: a
request that fails or leaves the page's origin, a console error, an uncaught exception."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

__all__ = ["Page", "chromium_binary", "open_page"]

_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # tests run as root in containers, where the sandbox cannot start
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    # The browser's own traffic (updates, safe browsing...): a test has no internet.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
)


def chromium_binary() -> str | None:
    """Debian's chromium, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Page:
    """One browser tab: send commands, and read what went wrong since it opened."""

    socket: Any
    origin: str
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _waiting: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _loaded: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run one DevTools command; its result, or AssertionError with its error."""
        number = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        await self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        return await asyncio.wait_for(future, 30)

    async def goto(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        self._loaded.clear()
        await self.send("Page.navigate", url=url)
        await asyncio.wait_for(self._loaded.wait(), 30)

    async def submit(self, expression: str) -> None:
        """Run ``expression`` (which submits a form, say) and wait for the next page."""
        self._loaded.clear()
        await self.evaluate(expression)
        await asyncio.wait_for(self._loaded.wait(), 30)

    async def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression run in the page."""
        answer = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in answer, answer["exceptionDetails"]
        return answer["result"].get("value")

    async def screenshot(self, width: int = 1280) -> bytes:
        """The whole page as a PNG, ``width`` CSS pixels wide."""
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=800,
            deviceScaleFactor=1,
            mobile=False,
        )
        height = await self.evaluate("document.documentElement.scrollHeight")
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=int(height),
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        return base64.b64decode(shot["data"])

    async def listen(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if "id" in message:
                future = self._waiting.pop(message["id"])
                if "error" in message:
                    future.set_exception(AssertionError(f"DevTools: {message['error']}"))
                else:
                    future.set_result(message.get("result", {}))
            else:
                self._event(message["method"], message.get("params", {}))

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            self.requests.append(url)
            if not url.startswith((self.origin, f"blob:{self.origin}", "data:")):
                self.problems.append(f"request outside the page's origin: {url}")
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            response = params["response"]
            self.problems.append(f"HTTP {response['status']} for {response['url']}")
        elif method == "Network.loadingFailed":
            self.problems.append(f"failed request: {params.get('errorText')}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
            texts = [str(a.get("value", a.get("description"))) for a in params["args"]]
            self.problems.append(f"console {params['type']}: {' '.join(texts)}")
        elif method == "Runtime.exceptionThrown":
            self.problems.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            entry = params["entry"]
            self.problems.append(f"log {entry['level']} ({entry['source']}): {entry['text']}")


async def _debugger_port(profile: Path, process: asyncio.subprocess.Process) -> int:
    """The port chromium chose (``--remote-debugging-port=0``: no race for a free one)."""
    marker, deadline = profile / "DevToolsActivePort", time.monotonic() + 30
    while not (text := await asyncio.to_thread(_read, marker)):
        if process.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError("chromium did not open its DevTools port")
        await asyncio.sleep(0.1)
    return int(text.split()[0])


async def _end(process: asyncio.subprocess.Process) -> None:
    """End chromium and every process it started (its group), before its profile folder
    is removed: a helper still writing there would make the removal fail."""
    group = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    await asyncio.wait_for(process.wait(), 10)
    deadline = time.monotonic() + 10
    while _alive(group):
        if time.monotonic() > deadline:
            os.killpg(group, signal.SIGKILL)
        await asyncio.sleep(0.05)


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _read(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


@asynccontextmanager
async def open_page(origin: str, flags: Sequence[str] = ()) -> AsyncIterator[Page]:
    """A fresh headless chromium (with ``flags`` besides its usual ones) with one tab
    watching for problems on ``origin``."""
    binary = chromium_binary()
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="nurture-chromium-") as folder:
        profile = Path(folder)
        process = await asyncio.create_subprocess_exec(
            binary,
            *_FLAGS,
            *flags,
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its renderers and helpers: one group to end together
        )
        try:
            port = await _debugger_port(profile, process)
            async with httpx.AsyncClient() as http:
                targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
            target = next(t for t in targets if t["type"] == "page")
            async with websockets.connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
                page = Page(ws, origin)
                listener = asyncio.create_task(page.listen())
                for domain in ("Page", "Runtime", "Log", "Network"):
                    await page.send(f"{domain}.enable")
                try:
                    yield page
                finally:
                    listener.cancel()
        finally:
            await _end(process)
