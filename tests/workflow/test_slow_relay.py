"""A burst of leads against a slow relay, on the real Temporal dev server: exactly one
thank-you per lead, whether the relay answers slowly or after the mailer gave up waiting.

The mail worker takes as many sends as the mailer holds connections (as ``worker.py``), so
no attempt spends its timeout waiting for a connection; an attempt that stops waiting for
the relay's answer records the email as unconfirmed and never sends it again.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from nurture.adapters.mail.smtp import SmtpMailer
from nurture.testing import ScriptedSmtpServer
from tests.helpers import persona_lead, submission
from tests.waiting import view_when

LEADS = 12
POOL = 4


async def burst(harness, env, mailer: SmtpMailer) -> list[str]:  # type: ignore[no-untyped-def]
    """``LEADS`` forms at once; the status and detail of each lead's thank-you."""
    leads = [f"slow-{i}-{id(mailer)}" for i in range(LEADS)]
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
        views = [await view_when(h, lead, lambda v: bool(v.emails), within=60) for lead in leads]
    return [f"{v.emails[0].status}: {v.emails[0].detail}" for v in views]


def per_key(relay: ScriptedSmtpServer) -> Counter[str]:
    return Counter(str(m["Message-ID"]) for m in relay.messages)


class TestBurst:
    """Every lead gets exactly one thank-you, as the relay counts them."""

    async def test_relay_answering_slowly(self, harness, dev_env, smtp, mailer_for) -> None:
        """Each message answered after 1.5 s, four connections: all sent, once each."""
        smtp.answer_after = 1.5
        outcomes = await burst(harness, dev_env, mailer_for(smtp.port, 10, pool_size=POOL))
        assert outcomes == ["sent: None"] * LEADS
        counts = per_key(smtp)
        assert len(counts) == LEADS and set(counts.values()) == {1}

    async def test_relay_answering_after_the_timeout(
        self, harness, dev_env, smtp, mailer_for
    ) -> None:
        """Each message answered after 2.5 s while the mailer waits 1 s: every email is
        recorded unconfirmed, none is sent again, the relay has one of each."""
        smtp.answer_after = 2.5
        outcomes = await burst(harness, dev_env, mailer_for(smtp.port, 1, pool_size=POOL))
        await asyncio.sleep(3)  # anything sent again would have arrived by now
        assert all(o.startswith("sent: the relay received the whole message") for o in outcomes)
        counts = per_key(smtp)
        assert len(counts) == LEADS and set(counts.values()) == {1}
