"""Polling helpers: wait, in real time, for a lead to reach a state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from nurture.domain.lead.view import LeadView
from tests.conftest import Harness


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Poll ``check`` in real time until it holds; fail with a clear message otherwise."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.05)


#: How long ``view_when`` waits for one answer before asking again.
QUERY_WAIT = 3.0


async def view_when(
    h: Harness, lead_id: str, ok: Callable[[LeadView], bool], within: float = 10.0
) -> LeadView:
    """Poll the lead's view until ``ok`` holds. Each query gets a few seconds: the test
    server can lose the answer to a query that meets the end of a run (continue-as-new),
    and the SDK would wait 30 s for it; the next query reaches the new run."""
    box: list[LeadView] = []

    async def check() -> bool:
        try:
            box[:] = [await asyncio.wait_for(h.gateway.get_lead(lead_id), timeout=QUERY_WAIT)]
        except Exception:
            return False
        return ok(box[0])

    await eventually(check, within)
    return box[0]


def sent(view: LeadView, template: str) -> bool:
    """True when ``template`` was sent to the lead."""
    return any(e.template == template and e.status == "sent" for e in view.emails)
