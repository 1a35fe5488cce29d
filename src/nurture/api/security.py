"""API keys (stored hashed, with scopes), rate limits on public endpoints, a body size limit.

``NURTURE_API_KEYS`` is a comma-separated list of entries. The production form is
``sha256:<hex digest of the key>:<scope>+<scope>`` (``nurture apikey create`` makes one), so
the environment never holds a usable key. A bare ``<key>`` is accepted for development and
has every scope; the API logs a warning for each.

Scopes: ``events`` (POST /v1/events), ``sales`` (read leads, act on them), ``admin``
(everything, erasure included), ``forms`` (post forms from a server without the public
rate limit), ``reports`` (read the reports, GET /v1/reports).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from fastapi import HTTPException, status

from nurture.domain.signing import signature
from nurture.errors import ConfigError

__all__ = [
    "SCOPES",
    "ApiKeyEntry",
    "BodyLimit",
    "RateLimiter",
    "Scope",
    "new_api_key",
    "parse_api_keys",
    "parse_rate",
]

log = logging.getLogger("nurture.api")

Scope = Literal["forms", "events", "sales", "admin", "reports"]
SCOPES: tuple[str, ...] = get_args(Scope)


@dataclass(frozen=True)
class ApiKeyEntry:
    """One accepted key: the SHA-256 of the key, and what it may do."""

    digest: bytes
    scopes: frozenset[str]
    hashed: bool
    """False for a bare development key given in clear."""

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(hashlib.sha256(key.encode()).digest(), self.digest)

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def parse_api_keys(text: str) -> list[ApiKeyEntry]:
    """The entries of ``NURTURE_API_KEYS``, or :class:`ConfigError` naming the bad one."""
    entries = []
    for number, raw in enumerate((part.strip() for part in text.split(",")), start=1):
        if not raw:
            continue
        if not raw.startswith("sha256:"):
            entries.append(
                ApiKeyEntry(hashlib.sha256(raw.encode()).digest(), frozenset(SCOPES), False)
            )
            continue
        _, digest, scopes = [*raw.split(":", 2), ""][:3]
        try:
            value = bytes.fromhex(digest)
        except ValueError:
            value = b""
        if len(value) != 32:
            raise ConfigError(f"NURTURE_API_KEYS entry {number}: the digest must be 64 hex digits")
        named = frozenset(s for s in scopes.split("+") if s)
        unknown = sorted(named - set(SCOPES))
        if not named or unknown:
            raise ConfigError(
                f"NURTURE_API_KEYS entry {number}: scopes must be some of "
                f"{', '.join(SCOPES)} joined by '+'"
                + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            )
        entries.append(ApiKeyEntry(value, named, True))
    return entries


def new_api_key(scopes: list[str]) -> tuple[str, str]:
    """A fresh random key and its ``NURTURE_API_KEYS`` entry (only the entry is stored)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if not scopes or unknown:
        raise ConfigError(f"scopes must be some of {', '.join(SCOPES)}")
    key = f"nk_{secrets.token_urlsafe(32)}"
    digest = hashlib.sha256(key.encode()).hexdigest()
    return key, f"sha256:{digest}:{'+'.join(sorted(set(scopes)))}"


def parse_rate(text: str) -> float | None:
    """``"60/minute"``, ``"5/second"``, ``"1000/hour"`` → requests per second; ``"off"`` or
    ``"0"`` → no limit."""
    value = text.strip().lower()
    if value in {"off", "0", ""}:
        return None
    count, _, unit = value.partition("/")
    seconds = {"second": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "h": 3600}
    try:
        per = int(count) / seconds[unit]
    except (KeyError, ValueError) as exc:
        raise ConfigError(
            f"rate {text!r}: write it as <count>/second, /minute or /hour, or off"
        ) from exc
    if per <= 0:
        raise ConfigError(f"rate {text!r}: the count must be positive")
    return per


class RateLimiter:
    """A token bucket per client and endpoint group: ``rate`` requests per second on
    average, bursts up to ``burst``. In memory, per API process: put a shared limit (the
    load balancer, a WAF) in front of a fleet."""

    def __init__(self, rate: float, burst: int, max_clients: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()
        self._max = max_clients

    def take(self, client: str, group: str, now: float | None = None) -> float:
        """0 when the request may go, else the seconds until it may."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop((client, group), (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[(client, group)] = (tokens, now)
        while len(self._buckets) > self._max:  # forget the least recently seen clients
            self._buckets.popitem(last=False)
        return wait

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))


AsgiScope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is refused with 413 before the
    application reads it (by ``Content-Length``, or while streaming without one). The
    ``streamed`` paths are exempt: their routes read the body piece by piece."""

    def __init__(
        self,
        app: Callable[[AsgiScope, Receive, Send], Awaitable[None]],
        limit: int,
        streamed: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.limit = limit
        self.streamed = streamed

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.streamed:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0
        refused = False

        async def limited() -> MutableMapping[str, Any]:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            if refused:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = f'{{"detail":"the request body is over {self.limit} bytes"}}'.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


SIGNATURE_TOLERANCE = 300
"""Seconds a signed request stays valid: a captured request cannot be replayed later."""


def check_signature(secret: bytes, timestamp: str | None, given: str | None, body: bytes) -> None:
    """401 unless ``given`` signs ``body`` at ``timestamp`` (Unix seconds, five minutes
    either side of now) under ``secret``."""
    if not timestamp or not given:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "sign the request: X-Nurture-Timestamp and X-Nurture-Signature are required",
        )
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "X-Nurture-Timestamp must be Unix seconds"
        ) from exc
    if abs(time.time() - sent_at) > SIGNATURE_TOLERANCE:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "stale request: the timestamp is over 5 minutes off"
        )
    if not hmac.compare_digest(given.encode(), signature(secret, timestamp, body).encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid signature")
