"""LeadWorkflow on the time-skipping server: months of timers in milliseconds."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio.testing import WorkflowEnvironment

from nurture.identity import workflow_id_for
from nurture.lifecycle import Condition
from nurture.mailer import PermanentDeliveryError, TransientDeliveryError
from tests.helpers import event, persona_lead, submission
from tests.waiting import sent, view_when


class TestWelcome:
    """A form post gets its thank-you at once and the second conversion after the delay."""

    async def test_thank_you_at_once_then_second_conversion(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """Thank-you before any time passes; second conversion only after two days."""
        async with harness(project_file=always_open) as h:
            await h.gateway.submit_form(
                "wf-welcome", submission(at=await h.now(), delay=timedelta(days=2))
            )
            await view_when(h, "wf-welcome", lambda v: sent(v, "thank_you"))
            assert h.templates() == ["thank_you"]
            assert "The buying guide" in h.subjects()[0]
            await time_env.sleep(timedelta(days=1, hours=23))
            view = await h.gateway.get_lead("wf-welcome")
            assert not sent(view, "second_conversion") and h.templates() == ["thank_you"]
            await time_env.sleep(timedelta(hours=2))
            await view_when(h, "wf-welcome", lambda v: sent(v, "second_conversion"))
            assert h.templates() == ["thank_you", "second_conversion"]

    async def test_second_conversion_waits_for_the_send_window(
        self, harness, time_env: WorkflowEnvironment
    ) -> None:
        """A Paris lead's form on Friday 19:00 UTC: the thank-you at once; the welcome starts
        Sunday 19:00 UTC and holds the second conversion until Monday 09:00 Paris."""
        async with harness() as h:
            now = await h.now()
            friday = _next_weekday_at(now, weekday=5, hour=19)
            await time_env.sleep(friday - now)
            lead = persona_lead("paris@globex.example", timezone="Europe/Paris")
            await h.gateway.submit_form("wf-window", submission(lead, at=await h.now()))
            view = await view_when(h, "wf-window", lambda v: sent(v, "thank_you"))
            (thanks,) = view.emails
            assert thanks.at - friday < timedelta(minutes=1)
            await time_env.sleep(timedelta(days=2, hours=1))
            view = await view_when(h, "wf-window", lambda v: bool(v.enrolments))
            assert not sent(view, "second_conversion")
            await time_env.sleep(timedelta(days=1))
            view = await view_when(h, "wf-window", lambda v: sent(v, "second_conversion"))
            second = next(e for e in view.emails if e.template == "second_conversion")
            local = second.at.astimezone(ZoneInfo("Europe/Paris"))
            assert (local.isoweekday(), local.hour, local.minute) == (1, 9, 0)
            assert second.key.split("/")[1] == "seq-welcome-v1-e1"

    async def test_no_second_conversion_once_sales_owns_the_lead(
        self, harness, always_open: Path
    ) -> None:
        """A lead that became an SQL before its welcome starts gets no marketing follow-up:
        the welcome records the second conversion as skipped, saying why."""
        async with harness(project_file=always_open) as h:
            now = await h.now()
            await h.gateway.submit_form("wf-sql", submission(at=now, delay=timedelta(hours=1)))
            for _ in range(10):
                await h.gateway.record_event("wf-sql", event("support_contacted", at=now))
            await view_when(h, "wf-sql", lambda v: v.stage == "sql")
            await h.env.sleep(timedelta(hours=1, minutes=1))
            view = await view_when(
                h, "wf-sql", lambda v: any(e.template == "second_conversion" for e in v.emails)
            )
            second = next(e for e in view.emails if e.template == "second_conversion")
            assert (second.status, second.detail) == (
                "skipped",
                "marketing mail stops in stage 'sql'",
            )
            assert h.templates() == ["thank_you"]

    async def test_duplicate_submissions_send_one_thank_you(self, harness) -> None:
        """The same submission id twice, then the same form again: one thank-you."""
        async with harness() as h:
            for sub_id in ("dup-1", "dup-1", "dup-2"):
                await h.gateway.submit_form(
                    "wf-dup", submission(submission_id=sub_id, at=await h.now())
                )
            await view_when(h, "wf-dup", lambda v: sent(v, "thank_you"))
            await asyncio.sleep(0.5)
            view = await h.gateway.get_lead("wf-dup")
            assert h.templates() == ["thank_you"]
            assert [e.template for e in view.emails] == ["thank_you"]
            # Scored twice (dup-1, dup-2), not three times: the buying guide gives +4 each.
            guide = next(ln for ln in view.explanation if ln.rule == "buying_guide_download")
            assert (guide.hits, view.score) == (2, 4 + 4 + 4)


class TestBehaviour:
    """Events score the lead; silence costs points on a durable timer."""

    async def test_events_deduplicated_by_id(self, harness) -> None:
        """An event sent twice with one id counts once."""
        async with harness() as h:
            await h.gateway.submit_form("wf-ev", submission(at=await h.now()))
            ev = event("webinar_registered", at=await h.now())
            for _ in range(3):
                await h.gateway.record_event("wf-ev", ev)
            view = await view_when(h, "wf-ev", lambda v: v.score >= 11)
            await asyncio.sleep(0.3)
            view = await h.gateway.get_lead("wf-ev")
            assert view.score == 8 + 3

    async def test_thirty_days_of_silence_cost_points(
        self, harness, time_env: WorkflowEnvironment
    ) -> None:
        """Nothing for 30 days: -3; an event then re-arms the timer for another 30 days."""
        async with harness() as h:
            await h.gateway.submit_form("wf-quiet", submission(at=await h.now()))
            await view_when(h, "wf-quiet", lambda v: sent(v, "thank_you"))
            await time_env.sleep(timedelta(days=29))
            assert (await h.gateway.get_lead("wf-quiet")).score == 8
            await time_env.sleep(timedelta(days=1, minutes=1))
            view = await view_when(h, "wf-quiet", lambda v: v.score == 5)
            assert any(line.rule == "inactivity" for line in view.explanation)
            assert view.temperature == "cold"


class TestDelivery:
    """SMTP outcomes reach the lead's state."""

    async def test_permanent_failure_marks_bounced(self, harness) -> None:
        """A 550 on the thank-you bounces the lead; its welcome skips the second conversion."""
        async with harness() as h:
            h.mailer.failures.append(PermanentDeliveryError("SMTP 550: no such user", 550))
            await h.gateway.submit_form(
                "wf-bounce", submission(at=await h.now(), delay=timedelta(0))
            )
            view = await view_when(h, "wf-bounce", lambda v: any(e.ended_at for e in v.enrolments))
            assert Condition.BOUNCED in view.conditions
            assert [(e.template, e.status, e.detail) for e in view.emails] == [
                ("thank_you", "bounced", "SMTP 550: no such user"),
                ("second_conversion", "skipped", "the address bounced"),
            ]
            (welcome,) = view.enrolments
            assert (welcome.sequence, welcome.result) == ("welcome", "completed")
            assert h.mailer.sent == []

    async def test_transient_failure_retried(self, harness) -> None:
        """Two 4xx answers, then the thank-you goes out once."""
        async with harness() as h:
            for _ in range(2):
                h.mailer.failures.append(TransientDeliveryError("SMTP 451: later", 451))
            await h.gateway.submit_form("wf-retry", submission(at=await h.now()))
            await view_when(h, "wf-retry", lambda v: sent(v, "thank_you"))
            assert h.templates() == ["thank_you"]


class TestContinueAsNew:
    """With a small forced limit the lead continues as new with state and signals intact."""

    async def test_state_and_signals_survive(
        self, harness, private_time_env: WorkflowEnvironment
    ) -> None:
        """Limit 3 per run, 25 events sent concurrently: all scored, one thank-you."""
        async with harness(max_inbound_per_run=3, env=private_time_env) as h:
            now = await h.now()
            await h.gateway.submit_form("wf-can", submission(at=now))
            await asyncio.gather(
                *(
                    h.gateway.record_event("wf-can", event("page_viewed", at=now, section="blog"))
                    for _ in range(25)
                )
            )
            view = await view_when(
                h,
                "wf-can",
                lambda v: (
                    sent(v, "thank_you")
                    and any(ln.rule == "blog_visit" and ln.hits == 25 for ln in v.explanation)
                ),
            )
            assert h.templates() == ["thank_you"]
            assert view.forms == ("white-paper",)
            history = await h.client.get_workflow_handle(workflow_id_for("wf-can")).fetch_history()
            started = history.events[0].workflow_execution_started_event_attributes
            assert started.continued_execution_run_id, "the lead never continued as new"
            assert started.input.payloads, "the new run got no input"


def _next_weekday_at(now: datetime, *, weekday: int, hour: int) -> datetime:
    """The next ISO ``weekday`` at ``hour``:00 UTC strictly after ``now``."""
    day = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    while day <= now or day.isoweekday() != weekday:
        day += timedelta(days=1)
    return day
