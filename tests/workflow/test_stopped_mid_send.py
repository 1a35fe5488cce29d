"""A lead stops its sequence while the sequence's email is with a slow relay, on the real
Temporal dev server (activities and heartbeats in real time).

The lead becomes an SQL a moment after its evaluation sequence handed the buying guide to
the relay: the stop cannot take the email back, so the lead must learn it left (its
emails, its facts), and the relay must have it once. Stopped before the relay had the end
of the message, nothing leaves and nothing is reported sent. Either way the sequence ends,
stopped, and sends nothing after.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowExecutionStatus

from nurture.domain.lead.messages import EventReceived
from nurture.testing import ScriptedSmtpServer
from tests.helpers import SQL_BY_SCORE, event, persona_lead, submission
from tests.waiting import eventually, view_when

GUIDE = "buying_guide"
SEQUENCE = "lead-{lead}/seq-evaluation-1"


def guides(smtp: ScriptedSmtpServer) -> int:
    return sum(1 for m in smtp.messages if m["X-Nurture-Template"] == GUIDE)


async def to_evaluation(h: Any, lead_id: str, smtp: ScriptedSmtpServer) -> None:
    """Thank-you at once (a quick relay), then six product pages: the evaluation sequence
    starts and sends the buying guide."""
    now = await h.now()
    await h.gateway.submit_form(
        lead_id, submission(persona_lead(f"{lead_id}@globex.example"), at=now)
    )
    await view_when(h, lead_id, lambda v: any(e.template == "thank_you" for e in v.emails), 20)
    for _ in range(6):
        await h.gateway.tell(
            lead_id, EventReceived(event=event("page_viewed", at=now, section="product"))
        )


async def to_sql(h: Any, lead_id: str) -> None:
    now = await h.now()
    for kind in SQL_BY_SCORE:
        await h.gateway.tell(lead_id, EventReceived(event=event(kind, at=now)))


async def sequence_status(h: Any, lead_id: str) -> WorkflowExecutionStatus | None:
    described = await h.client.get_workflow_handle(SEQUENCE.format(lead=lead_id)).describe()
    return described.status


class TestStoppedMidSend:
    """The lead becomes an SQL while its sequence's email is at the relay."""

    async def test_an_email_the_relay_took_is_reported(
        self, harness, dev_env, smtp, mailer_for, always_open: Path
    ) -> None:
        """The relay has the whole guide and answers 6 s later; the lead stops the
        sequence meanwhile. The guide is in the lead's emails as sent, its fact is
        logged with the sequence's name, the relay has it once, the sequence is
        cancelled."""
        lead = "stop-after-handover"
        mailer = mailer_for(smtp.port, 15)
        async with harness(mailer=mailer, env=dev_env, project_file=always_open) as h:
            await to_evaluation(h, lead, smtp)
            smtp.answer_after = 6
            await eventually(lambda: _true(guides(smtp) == 1), within=20)
            await to_sql(h, lead)
            view = await view_when(
                h,
                lead,
                lambda v: any(e.template == GUIDE and e.status == "sent" for e in v.emails),
                within=30,
            )
            guide = next(e for e in view.emails if e.template == GUIDE)
            assert (guide.sequence, guide.step) == ("evaluation", 1)
            assert view.stage == "sql"
            evaluation = next(e for e in view.enrolments if e.sequence == "evaluation")
            assert evaluation.result == "stopped"

            async def logged() -> bool:
                sent = [f async for f in h.facts.read(kinds=["email_sent"], lead_ids=[lead])]
                return any(
                    f.data.get("template") == GUIDE and f.data.get("sequence") == "evaluation"
                    for f in sent
                )

            await eventually(logged, within=20)
            await eventually(
                lambda: _is(sequence_status(h, lead), WorkflowExecutionStatus.CANCELED),
                within=20,
            )
        assert guides(smtp) == 1

    async def test_an_email_the_relay_never_had_is_not(
        self, harness, dev_env, smtp, mailer_for, always_open: Path
    ) -> None:
        """The relay takes 8 s to accept the guide's recipient; the lead stops the sequence
        meanwhile: the attempt drops the message before its end, the relay has no guide,
        the lead no guide sent, and the sequence is cancelled, not left waiting."""
        lead = "stop-before-handover"
        mailer = mailer_for(smtp.port, 15)
        async with harness(mailer=mailer, env=dev_env, project_file=always_open) as h:
            await to_evaluation(h, lead, smtp)
            before = smtp.recipients
            smtp.rcpt_after = 8
            await eventually(lambda: _true(smtp.recipients > before), within=20)
            await to_sql(h, lead)
            await eventually(
                lambda: _is(sequence_status(h, lead), WorkflowExecutionStatus.CANCELED),
                within=30,
            )
            await asyncio.sleep(9)  # past the relay's delay: a transfer left behind ends
            view = await h.gateway.get_lead(lead)
            assert view.stage == "sql"
            assert not any(e.template == GUIDE and e.status == "sent" for e in view.emails)
        assert guides(smtp) == 0


async def _true(value: bool) -> bool:
    return value


async def _is(status: Any, wanted: WorkflowExecutionStatus) -> bool:
    return bool(await status == wanted)
