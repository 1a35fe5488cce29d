"""A real HTTP receiver of nurture's outbound webhooks on a free port of 127.0.0.1, whose
answers a test scripts: a status, or ``HANG`` (no answer until the sender gives up). It
keeps every request it got and the deliveries it accepted (2xx), each signature checked."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from nurture.domain.signing import signature

__all__ = ["HANG", "Received", "WebhookReceiver"]

HANG = -1
"""An answer that never comes (until the connection is dropped)."""


@dataclass(frozen=True)
class Received:
    """One request as the receiver read it."""

    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    def signed_by(self, secret: bytes) -> bool:
        timestamp = self.headers["x-nurture-timestamp"]
        return self.headers["x-nurture-signature"] == signature(secret, timestamp, self.body)


@dataclass
class WebhookReceiver:
    """``answer(n, payload)`` gives the status of the n-th request (from 0)."""

    answer: Callable[[int, dict[str, Any]], int] = lambda n, payload: 200
    requests: list[Received] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _hanging: list[asyncio.Future[None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks/nurture"

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    async def __aenter__(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for hang in self._hanging:
            hang.cancel()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            headers, body = await _read(reader)
            number = len(self.requests)
            status = self.answer(number, json.loads(body))
            self.requests.append(Received(headers, body, status))
            if status == HANG:
                hang = asyncio.get_running_loop().create_future()
                self._hanging.append(hang)
                with suppress(asyncio.CancelledError):
                    await hang
                return
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode()
            )
            await writer.drain()
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()


async def _read(reader: asyncio.StreamReader) -> tuple[dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")[1:]
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines if line)
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return headers, body
