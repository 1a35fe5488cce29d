"""Many leads through the API, paced so a small machine keeps up: forms are posted with a
bounded number of requests open and a bounded number of leads posted but not yet thanked,
so the worker never holds more than that many new leads at once (its workflow cache and
Temporal's queues stay small), and a progress line says how fast it goes.

The thank-yous arrive at a local SMTP server (aiosmtpd) that accepts everything; a lead's
first message is its thank-you, the transactional email sent at once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["Intake", "Stalled", "ThankYous", "duration", "post_with_retry"]

RETRIES = 5
"""Attempts per request before giving up: the API asks to retry with the same id on 5xx."""


class Stalled(Exception):
    """No thank-you arrived for too long: the stack is stuck or dead."""


@dataclass
class ThankYous:
    """An aiosmtpd handler counting each recipient's first message, and what waits for it.

    It runs in the SMTP server's thread and hands every arrival to the benchmark's loop."""

    loop: asyncio.AbstractEventLoop
    seen: set[str] = field(default_factory=set)
    listeners: list[Callable[[str], None]] = field(default_factory=list)
    waiters: dict[str, asyncio.Future[None]] = field(default_factory=dict)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            self.loop.call_soon_threadsafe(self._arrived, rcpt)
        return "250 OK"

    def _arrived(self, rcpt: str) -> None:
        if rcpt in self.seen:
            return
        self.seen.add(rcpt)
        for listener in self.listeners:
            listener(rcpt)
        waiter = self.waiters.pop(rcpt, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_for(self, rcpt: str) -> None:
        """Until ``rcpt`` has had its first message."""
        if rcpt in self.seen:
            return
        await self.waiters.setdefault(rcpt, self.loop.create_future())


async def post_with_retry(
    api: httpx.AsyncClient, url: str, retry_field: str, **kwargs: Any
) -> httpx.Response:
    """POST, retrying under the same id (``retry_field`` of the body) on a transport error,
    a 429 or a 5xx, as the API asks; raises ``HTTPStatusError`` for any other refusal."""
    body = kwargs.get("data") or kwargs.get("json") or {}
    body.setdefault(retry_field, uuid.uuid4().hex)
    for attempt in range(RETRIES):
        try:
            response = await api.post(url, **kwargs)
        except httpx.TransportError:
            if attempt == RETRIES - 1:
                raise
        else:
            if response.status_code != 429 and response.status_code < 500:
                return response.raise_for_status()
            if attempt == RETRIES - 1:
                return response.raise_for_status()
        await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


@dataclass
class Intake:
    """Posts ``leads`` forms, at most ``concurrency`` requests and ``in_flight`` leads not
    yet thanked at a time, printing progress every ``every`` seconds; gives up when no
    thank-you came for ``stall`` seconds."""

    api: httpx.AsyncClient
    sink: ThankYous
    tag: str
    concurrency: int
    in_flight: int
    every: float
    stall: float
    say: Callable[[str], None]
    dead: Callable[[], list[str]]
    """Names of the stack's processes that died."""
    lead_ids: list[str] = field(default_factory=list)
    posted: int = 0
    thanked: int = 0
    failed: int = 0
    first_failure: str | None = None
    began: float = 0.0
    elapsed: float = 0.0

    def email(self, number: int) -> str:
        return f"lead-{self.tag}-{number}@bench.example"

    async def run(self, leads: int) -> None:
        """Create the leads; ``thanked``, ``failed`` and ``elapsed`` say how it went, also
        when it stops early (a stall, a dead process, Ctrl-C)."""
        slots = asyncio.Semaphore(self.in_flight)
        mine = f"lead-{self.tag}-"

        def arrived(rcpt: str) -> None:
            if rcpt.startswith(mine):
                self.thanked += 1
                slots.release()

        self.sink.listeners.append(arrived)
        self.began = time.monotonic()
        producer = asyncio.create_task(self._post_all(leads, slots))
        try:
            await self._watch(leads, producer)
        finally:
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)
            self.sink.listeners.remove(arrived)
            self.elapsed = time.monotonic() - self.began

    async def _post_all(self, leads: int, slots: asyncio.Semaphore) -> None:
        requests = asyncio.Semaphore(self.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        try:
            for number in range(leads):
                await slots.acquire()
                await requests.acquire()
                task = asyncio.create_task(self._post(number, requests, slots))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _post(
        self, number: int, requests: asyncio.Semaphore, slots: asyncio.Semaphore
    ) -> None:
        data = {"email": self.email(number), "first_name": "Bench"}
        try:
            response = await post_with_retry(
                self.api, "/v1/forms/white-paper", "submission_id", data=data
            )
        except (httpx.HTTPError, OSError) as exc:
            self.failed += 1
            self.first_failure = self.first_failure or f"{type(exc).__name__}: {exc}"
            slots.release()
        else:
            self.posted += 1
            if len(self.lead_ids) < 10:
                self.lead_ids.append(response.json()["lead_id"])
        finally:
            requests.release()

    async def _watch(self, leads: int, producer: asyncio.Task[None]) -> None:
        """Print progress until every lead is thanked or failed; raise when stuck."""
        last_count, last_change, last_line = 0, time.monotonic(), time.monotonic()
        line_count = 0
        while self.thanked + self.failed < leads:
            error = producer.exception() if producer.done() else None
            if error is not None:
                raise error
            await asyncio.sleep(0.2)
            now = time.monotonic()
            if self.thanked != last_count:
                last_count, last_change = self.thanked, now
            gone = self.dead()
            if gone:
                raise Stalled(f"stack process(es) died: {', '.join(gone)}")
            if now - last_change > self.stall:
                raise Stalled(
                    f"no thank-you for {self.stall:.0f}s "
                    f"({self.posted} posted, {self.thanked} thanked, {self.failed} failed)"
                )
            if now - last_line >= self.every:
                self.say(self.progress(leads, self.thanked - line_count, now - last_line))
                last_line, line_count = now, self.thanked
        self.say(self.progress(leads, 0, 0))

    def progress(self, leads: int, recent: int, seconds: float) -> str:
        """One line: how many are thanked, the recent and overall rates, and the ETA."""
        overall = self.thanked / max(1e-9, time.monotonic() - self.began)
        rate = recent / seconds if seconds else overall
        left = leads - self.thanked - self.failed
        eta = left / rate if rate > 0 else float("inf")
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"  {self.thanked:>9,}/{leads:,} thanked ({self.posted:,} posted{failed})  "
            f"{rate:6.1f}/s now  {overall:6.1f}/s overall  ETA {duration(eta)}"
        )


def duration(seconds: float) -> str:
    """``1h02m``, ``3m05s`` or ``42s``; ``?`` when unknown."""
    if seconds == float("inf") or seconds != seconds:
        return "?"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
