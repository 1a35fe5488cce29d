"""LeadWorkflow on the time-skipping server: months of timers in milliseconds."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import ConfigActivities, SalesActivities
from nurture.adapters.mail.smtp import PermanentDeliveryError, TransientDeliveryError
from nurture.domain.config import ConfigRef
from nurture.domain.emails import mail_task_queue
from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.input import LeadWorkflowInput
from nurture.domain.lead.messages import EventReceived, FormPosted
from nurture.domain.lifecycle import Condition
from nurture.domain.sales.records import SalesAction
from nurture.testing import MemoryConfigStore, MemoryLedger, RecordingMailer
from tests.helpers import (
    SALES_FILE,
    SCORING_FILE,
    GatedMailer,
    email_activities,
    event,
    persona_lead,
    submission,
)
from tests.waiting import eventually, sent, view_when
from workflows import LeadWorkflow, RouterWorkflow, SequenceWorkflow


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
        self, harness, always_open: Path, time_env: WorkflowEnvironment
    ) -> None:
        """A lead that became an SQL before its welcome starts gets no marketing follow-up:
        the welcome records the second conversion as skipped, saying why. (On a server of its
        own: router traffic, see tests/workflow/handoff/conftest.py.)"""
        async with harness(project_file=always_open, env=time_env) as h:
            # A Tuesday 09:00 UTC: Camille's business hours (Paris), not Olivia's (New York),
            # whatever the hour the test runs at (each test's server starts at the wall clock).
            start = await h.now()
            await h.env.sleep(_next_weekday_at(start, weekday=2, hour=9) - start)
            now = await h.now()
            await h.gateway.submit_form("wf-sql", submission(at=now, delay=timedelta(hours=1)))
            # One hand-raise: an SQL at once. (Scoring there event by event may pass through
            # the decision track, whose first email would go out on the way.)
            await h.gateway.tell("wf-sql", EventReceived(event=event("demo_requested", at=now)))
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
            # The lead got its thank-you only; the alert went to the rep it was routed to,
            # and a reminder after 30 business minutes.
            mail = [(str(m["To"]), str(m["X-Nurture-Template"])) for m in h.mailer.sent]
            assert [t for to, t in mail if "ada@" in to] == ["thank_you"]
            camille = "Camille Martin <camille@example.com>"
            assert [t for to, t in mail if to == camille] == ["sales_alert", "sales_reminder"]

    async def test_duplicate_submissions_send_one_thank_you(self, harness) -> None:
        """The same submission id twice, then the same form again: one thank-you, and
        the form scores once (posted again within `rescore_after`, it is activity only)."""
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
            # Scored once: dup-1 counts, its retry is ignored, dup-2 comes within 30 days.
            guide = next(ln for ln in view.explanation if ln.rule == "buying_guide_download")
            assert (guide.hits, view.score) == (1, 4 + 4)


class TestBehaviour:
    """Events score the lead; silence costs points on a durable timer."""

    async def test_events_deduplicated_by_id(self, harness) -> None:
        """An event sent twice with one id counts once."""
        async with harness() as h:
            await h.gateway.submit_form("wf-ev", submission(at=await h.now()))
            ev = event("webinar_registered", at=await h.now())
            for _ in range(3):
                await h.gateway.tell("wf-ev", EventReceived(event=ev))
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

    async def test_state_and_signals_survive(self, harness, time_env: WorkflowEnvironment) -> None:
        """Limit 3 per run, 25 events sent concurrently: all scored, one thank-you."""
        async with harness(max_inbound_per_run=3, env=time_env) as h:
            now = await h.now()
            await h.gateway.submit_form("wf-can", submission(at=now))
            await asyncio.gather(
                *(
                    h.gateway.tell(
                        "wf-can", EventReceived(event=event("page_viewed", at=now, section="blog"))
                    )
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

    async def test_a_sales_action_as_the_run_ends(self, harness) -> None:
        """A rep accepts while the run, at its limit, waits to continue as new: the loop
        applies the action instead of waiting on its update forever, and the lead goes on
        in the next run."""
        mailer = GatedMailer()
        async with harness(max_inbound_per_run=3, mailer=mailer) as h:
            now = await h.now()
            person = persona_lead("can-act@example.com")
            await h.gateway.submit_form("can-act", submission(person, submission_id="s1", at=now))
            await view_when(h, "can-act", lambda v: sent(v, "thank_you"))
            await h.gateway.tell("can-act", EventReceived(event=event("demo_requested", at=now)))
            await view_when(h, "can-act", lambda v: any(e.kind == "assigned" for e in v.sales_log))
            mailer.gate = gate = asyncio.Event()
            form = submission(person, submission_id="s2", form_id="contact", at=await h.now())
            await h.gateway.submit_form("can-act", form)  # the run's third message: its limit

            async def in_flight() -> bool:
                return mailer.waiting > 0

            await eventually(in_flight)
            accept = {"action": "accept", "actor": "ana", "action_id": "a1"}
            act = asyncio.create_task(h.gateway.act("can-act", SalesAction.model_validate(accept)))
            await asyncio.sleep(1.0)
            gate.set()
            view = await asyncio.wait_for(act, timeout=20)
            assert view.handoffs[-1].accepted_at is not None
            view = await view_when(h, "can-act", lambda v: len(v.emails) == 2)
            assert [e.template for e in view.emails] == ["thank_you", "thank_you"]
            handle = h.client.get_workflow_handle(workflow_id_for("can-act"))
            started = (await handle.fetch_history()).events[0]
            assert started.workflow_execution_started_event_attributes.continued_execution_run_id


def _next_weekday_at(now: datetime, *, weekday: int, hour: int) -> datetime:
    """The next ISO ``weekday`` at ``hour``:00 UTC strictly after ``now``."""
    day = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    while day <= now or day.isoweekday() != weekday:
        day += timedelta(days=1)
    return day


class SlowConfig(ConfigActivities):
    """Config activities whose configuration takes longer than a workflow task may."""

    @activity.defn(name="current_config")
    async def current_config(self) -> ConfigRef:
        await asyncio.sleep(2.5)
        return await super().current_config()


class TestReplaySafety:
    """What a lead decides must not depend on where workflow task boundaries fall."""

    async def test_slow_config_load_replays(
        self, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """With a 2 s task timeout, a 2.5 s configuration load outlasts the task's heartbeat
        and splits the first task in two; without a workflow cache every task replays, and
        the lead gets its thank-you with no task failure."""
        time_env = time_env  # real-time task timeouts; keep them off the shared server
        client = time_env.client
        queue = f"tq-slow-{uuid.uuid4().hex[:6]}"
        mailer, ledger = RecordingMailer(), MemoryLedger()
        emails = email_activities(mailer, ledger)
        sales = SalesActivities(client, queue, SALES_FILE)
        config = SlowConfig(SCORING_FILE, always_open, sales.team, MemoryConfigStore())
        worker = Worker(
            client,
            task_queue=queue,
            workflows=[LeadWorkflow, SequenceWorkflow, RouterWorkflow],
            activities=[*config.activities(), *sales.activities()],
            max_cached_workflows=0,
        )
        mail = Worker(client, task_queue=mail_task_queue(queue), activities=emails.sending())
        workflow_id = workflow_id_for("wf-slow")
        async with worker, mail:
            handle = await client.start_workflow(
                LeadWorkflow.run,
                LeadWorkflowInput(lead_id="wf-slow"),
                id=workflow_id,
                task_queue=queue,
                task_timeout=timedelta(seconds=2),
                start_signal="message_received",
                start_signal_args=[
                    FormPosted(form=submission(at=await time_env.get_current_time()))
                ],
            )

            async def thanked() -> bool:
                return len(mailer.sent) == 1

            try:
                await eventually(thanked, within=20)
                history = await handle.fetch_history()
            finally:
                await handle.terminate()
        failed = [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
        assert failed == []
        assert [str(m["X-Nurture-Template"]) for m in mailer.sent] == ["thank_you"]
        completed = [
            e.event_id
            for e in history.events
            if e.HasField("workflow_task_completed_event_attributes")
        ]
        assert len(completed) >= 2, "the slow load did not split the first task"
