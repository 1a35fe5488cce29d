"""The hand-off to sales on the time-skipping server: routing, SLA reminder and escalation,
sales actions and their validation, the way back to nurture and a second hand-off."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from nurture.adapters.mail.smtp import PermanentDeliveryError
from nurture.adapters.temporal.gateway import ActionRefused, LeadNotFound
from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.messages import EventReceived
from nurture.domain.lead.view import LeadView
from nurture.domain.sales.records import SalesAction
from nurture.domain.sales.router import router_workflow_id
from nurture.testing import HttpRecorder
from tests.conftest import Harness, start_time_skipping
from tests.helpers import event, persona_lead, submission
from tests.waiting import eventually, sent, view_when
from workflows import LeadWorkflow, RouterWorkflow

TEAM = """
manager = "boss@example.com"
app_url = "https://crm.example.com"
[hours]
days = [1, 2, 3, 4, 5, 6, 7]
start = "00:00"
end = "23:59:59.999999"
[sla]
accept_within = "1h"
remind_after = "30m"
max_reassignments = 1
[[reps]]
id = "ana"
name = "Ana Lima"
email = "ana@example.com"
timezone = "UTC"
[[reps]]
id = "bob"
name = "Bob Stone"
email = "bob@example.com"
timezone = "UTC"
"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sales_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server for this module's router traffic. The shared one has been seen
    to stop skipping time after these tests (updates to a router terminated at clean-up are
    the suspect), which stalls every test after them; the real server is not affected."""
    env = await start_time_skipping()
    yield env
    await env.shutdown()


@pytest.fixture
def team_file(tmp_path: Path) -> Path:
    path = tmp_path / "sales.toml"
    path.write_text(TEAM)
    return path


async def make_sql(h: Harness, lead_id: str) -> None:
    """A form, then a demo request: a hand-raise makes the lead an SQL at once."""
    now = await h.now()
    await h.gateway.submit_form(lead_id, submission(at=now))
    await h.gateway.tell(lead_id, EventReceived(event=event("demo_requested", at=now)))


def log(view: LeadView) -> list[str]:
    return [e.kind for e in view.sales_log]


def mail(h: Harness) -> list[tuple[str, str]]:
    return [(m["To"].addresses[0].addr_spec, str(m["X-Nurture-Template"])) for m in h.mailer.sent]


async def act(h: Harness, lead_id: str, **fields: object) -> LeadView:
    handle = h.client.get_workflow_handle(workflow_id_for(lead_id))
    action = SalesAction.model_validate(fields)
    return await handle.execute_update(LeadWorkflow.act, action)


class TestSla:
    """The owner must accept within the SLA: a reminder, then escalation and reassignment."""

    async def test_reminder_escalation_reassignment(
        self, harness, always_open: Path, team_file: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """Ana gets the alert at once and a reminder at 30 min; at 1 h the manager hears and
        Bob gets the lead; Bob does not accept either, and with one reassignment allowed the
        lead goes to the pool."""
        async with harness(project_file=always_open, sales_file=team_file, env=sales_env) as h:
            await make_sql(h, "ho-sla")
            view = await view_when(h, "ho-sla", lambda v: "assigned" in log(v))
            first = view.handoffs[-1]
            assert (first.owner, view.stage) == ("ana", "sql")
            assert first.accept_by is not None and first.remind_at is not None
            assert first.accept_by - first.assigned_at == timedelta(hours=1)  # type: ignore[operator]
            assert view.next_touch_at == first.remind_at
            await h.env.sleep(timedelta(minutes=31))
            await view_when(h, "ho-sla", lambda v: "reminded" in log(v))
            await h.env.sleep(timedelta(minutes=30))
            view = await view_when(h, "ho-sla", lambda v: log(v).count("assigned") == 2)
            assert view.handoffs[-1].owner == "bob"
            assert view.handoffs[-1].passed_over == ("ana",)
            await h.env.sleep(timedelta(hours=1, minutes=1))
            view = await view_when(h, "ho-sla", lambda v: "pooled" in log(v))
        assert log(view) == [
            "handed_off",
            "assigned",
            "reminded",
            "escalated",
            "assigned",
            "reminded",
            "escalated",
            "pooled",
        ]
        assert [t for t in mail(h) if t[1] != "thank_you"] == [
            ("ana@example.com", "sales_alert"),
            ("ana@example.com", "sales_reminder"),
            ("boss@example.com", "sales_escalation"),
            ("bob@example.com", "sales_alert"),
            ("bob@example.com", "sales_reminder"),
            ("boss@example.com", "sales_escalation"),
        ]

    async def test_accepting_stops_the_clock(
        self, harness, always_open: Path, team_file: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """Accepted at once: no reminder, no escalation, even two hours later."""
        async with harness(project_file=always_open, sales_file=team_file, env=sales_env) as h:
            await make_sql(h, "ho-accept")
            await view_when(h, "ho-accept", lambda v: "assigned" in log(v))
            view = await act(h, "ho-accept", action="accept", actor="ana")
            assert view.handoffs[-1].accepted_at is not None
            await h.env.sleep(timedelta(hours=2))
            view = await h.gateway.get_lead("ho-accept")
        assert log(view) == ["handed_off", "assigned", "accepted"]
        assert [t for _, t in mail(h)] == ["thank_you", "sales_alert"]


async def test_webhook_posts_the_slack_message_once_despite_a_failure(
    harness, always_open: Path, tmp_path: Path, sales_env: WorkflowEnvironment
) -> None:
    """With `webhook_url` set, the assignment posts one Slack-compatible message: the
    receiver's first answer is a 503, the activity retries, and the message arrives once,
    with the owner, the score explanation and a button to the lead."""
    with HttpRecorder(fail_first=1) as hook:
        hooked = tmp_path / "sales.toml"
        hooked.write_text(TEAM.replace("[hours]", f'webhook_url = "{hook.url}/slack"\n[hours]'))
        async with harness(project_file=always_open, sales_file=hooked, env=sales_env) as h:
            await make_sql(h, "ho-hook")
            await view_when(h, "ho-hook", lambda v: "assigned" in log(v))

            async def delivered() -> bool:
                return bool(hook.posts)

            await eventually(delivered)
            await h.env.sleep(timedelta(seconds=30))
    assert hook.attempts == 2 and len(hook.posts) == 1
    path, raw = hook.posts[0]
    body = json.loads(raw)
    assert path == "/slack"
    assert str(body["text"]).startswith("New SQL for Ana Lima: ")
    blocks = json.dumps(body["blocks"])
    assert "Why this score" in blocks and "Recent activity" in blocks
    assert "https://crm.example.com/v1/leads/ho-hook" in blocks


class TestBusinessHours:
    """The SLA counts business hours on the rep's clock: a weekend does not run it down."""

    async def test_friday_evening_handoff_waits_for_monday(
        self, harness, always_open: Path, tmp_path: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """Hours Monday to Friday, 09:00-18:00 in Paris. A demo request at Friday 17:40:
        20 minutes count on Friday, the rest on Monday, so the reminder is due at Monday
        09:10 and the deadline at 09:40 (Paris). Nothing reaches Ana over the weekend."""
        paris = ZoneInfo("Europe/Paris")
        office = tmp_path / "sales.toml"
        office.write_text(
            TEAM.replace("days = [1, 2, 3, 4, 5, 6, 7]", "days = [1, 2, 3, 4, 5]")
            .replace('start = "00:00"', 'start = "09:00"')
            .replace('end = "23:59:59.999999"', 'end = "18:00"')
            .replace('timezone = "UTC"', 'timezone = "Europe/Paris"')
        )
        async with harness(project_file=always_open, sales_file=office, env=sales_env) as h:
            here = (await h.now()).astimezone(paris)
            friday = (here + timedelta(days=(4 - here.weekday()) % 7 or 7)).replace(
                hour=17, minute=40, second=0, microsecond=0
            )
            await h.env.sleep(friday - here)
            await make_sql(h, "ho-weekend")
            view = await view_when(h, "ho-weekend", lambda v: "assigned" in log(v))
            monday = friday + timedelta(days=3)
            first = view.handoffs[-1]
            # To the second: the lead was assigned a few milliseconds after 17:40.
            assert first.remind_at is not None and first.accept_by is not None
            assert abs(first.remind_at - monday.replace(hour=9, minute=10)) < timedelta(seconds=1)
            assert abs(first.accept_by - monday.replace(hour=9, minute=40)) < timedelta(seconds=1)
            await h.env.sleep(monday.replace(hour=9, minute=5) - (await h.now()))
            view = await h.gateway.get_lead("ho-weekend")
            assert "reminded" not in log(view)
            assert [t for _, t in mail(h)] == ["thank_you", "sales_alert"]
            await h.env.sleep(timedelta(minutes=6))
            view = await view_when(h, "ho-weekend", lambda v: "reminded" in log(v))
        reminded = next(e for e in view.sales_log if e.kind == "reminded")
        assert reminded.at.astimezone(paris).strftime("%a %H:%M") == "Mon 09:10"
        assert [t for _, t in mail(h)] == ["thank_you", "sales_alert", "sales_reminder"]


class TestActions:
    """Sales actions through Temporal updates, validated before anything is recorded."""

    async def test_disallowed_action_leaves_no_trace(
        self, harness, always_open: Path, team_file: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """Converting before accepting, or returning without a valid reason, is refused
        with the reason, and the lead's history holds no trace of the attempt."""
        async with harness(project_file=always_open, sales_file=team_file, env=sales_env) as h:
            await make_sql(h, "ho-refuse")
            await view_when(h, "ho-refuse", lambda v: "assigned" in log(v))
            with pytest.raises((WorkflowUpdateFailedError, RPCError)) as refused:
                await act(h, "ho-refuse", action="convert", actor="ana")
            assert "accept the lead before converting it" in str(
                refused.value.__cause__ or refused.value
            )
            # A SalesAction with a bad reason cannot be made; a client without the model
            # sends one anyway: the workflow cannot read it and rejects the update.
            handle = h.client.get_workflow_handle(workflow_id_for("ho-refuse"))
            bad = {"action": "return_to_nurture", "actor": "ana", "reason": "bored"}
            with pytest.raises((WorkflowUpdateFailedError, RPCError)) as bad_reason:
                await handle.execute_update("act", bad, result_type=LeadView)
            failure = bad_reason.value.__cause__  # "Failed decoding arguments", caused by:
            assert failure is not None and "reason\n  Value error, a return to nurture needs" in (
                str(failure.__cause__)
            )
            history = await handle.fetch_history()
        updates = [
            e
            for e in history.events
            if e.HasField("workflow_execution_update_accepted_event_attributes")
        ]
        assert updates == []

    async def test_return_to_nurture_then_second_handoff(
        self, harness, always_open: Path, team_file: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """Accepted, then returned for 'timing': recycled, 10 points off, the hand-off closed
        and Ana's lead released; a new demo request hands it off again, to Bob (the rotation
        moved on)."""
        async with harness(project_file=always_open, sales_file=team_file, env=sales_env) as h:
            await make_sql(h, "ho-return")
            await view_when(h, "ho-return", lambda v: "assigned" in log(v))
            await act(h, "ho-return", action="accept", actor="ana")
            before = (await h.gateway.get_lead("ho-return")).score
            view = await act(
                h,
                "ho-return",
                action="return_to_nurture",
                actor="ana",
                reason="timing",
                note="budget review in Q2",
                action_id="ret-1",
            )
            assert view.stage == "recycled" and view.score == max(0, before - 10)
            assert view.handoffs[-1].ended_at is not None
            # The reason picks the recycle sequence: "timing" keeps in touch, at once.
            view = await view_when(
                h,
                "ho-return",
                lambda v: any(
                    e.template == "keep_in_touch" and e.status == "sent" for e in v.emails
                ),
            )
            assert view.sequence is not None and view.sequence.sequence == "recycle-timing"
            again = await act(
                h,
                "ho-return",
                action="return_to_nurture",
                actor="ana",
                reason="timing",
                action_id="ret-1",
            )
            assert again.stage == "recycled"  # the same action id applies once
            await h.gateway.tell(
                "ho-return", EventReceived(event=event("demo_requested", at=await h.now()))
            )
            view = await view_when(
                h, "ho-return", lambda v: len(v.handoffs) == 2 and v.handoffs[-1].owner is not None
            )
        assert view.handoffs[-1].owner == "bob"
        assert log(view) == [
            "handed_off",
            "assigned",
            "accepted",
            "returned",
            "handed_off",
            "assigned",
        ]
        returned = next(e for e in view.sales_log if e.kind == "returned")
        assert returned.actor == "ana" and "timing" in returned.detail and "Q2" in returned.detail

    async def test_won_makes_a_customer_and_starts_onboarding(
        self, harness, always_open: Path, team_file: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """Accept, convert, won: the lead is an opportunity, then a customer; Ana's lead is
        released; and the post-purchase nurture begins with `welcome_aboard`."""
        async with harness(project_file=always_open, sales_file=team_file, env=sales_env) as h:
            await make_sql(h, "ho-won")
            await view_when(h, "ho-won", lambda v: "assigned" in log(v))
            await act(h, "ho-won", action="accept", actor="ana")
            view = await act(h, "ho-won", action="convert", actor="ana", note="deal 42")
            assert view.stage == "opportunity"
            view = await act(h, "ho-won", action="won", actor="ana")
            assert view.stage == "customer"
            view = await view_when(h, "ho-won", lambda v: sent(v, "welcome_aboard"))
            router = h.client.get_workflow_handle(router_workflow_id(h.task_queue))
            rotation = await router.query(RouterWorkflow.rotation)
        assert view.sequence is not None and view.sequence.sequence == "onboarding"
        assert log(view) == ["handed_off", "assigned", "accepted", "converted", "won"]
        assert rotation["open"] == {"ana": 0}


class TestRecycling:
    """A lead sales returned stays in its recycle sequence until it shows new interest."""

    async def test_returned_lead_requalifies_only_by_new_points(
        self, harness, always_open: Path, team_file: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """The filed case: 44 points (MQL at 20), a demo request, accepted, returned for
        'timing' (34 points). 70 s later an event worth nothing, an unknown type, then 8 new
        points: still recycled, recycle-timing still running. 4 more (12 since the return):
        an MQL again, and recycle-timing stops."""
        lead = "ho-recycle"
        async with harness(project_file=always_open, sales_file=team_file, env=sales_env) as h:
            now = await h.now()
            await h.gateway.submit_form(lead, submission(at=now))
            for section in ["product"] * 10 + ["blog"] * 10:
                await h.gateway.tell(
                    lead, EventReceived(event=event("page_viewed", at=now, section=section))
                )
            for kind in ("webinar_registered", "webinar_registered", "demo_requested"):
                await h.gateway.tell(lead, EventReceived(event=event(kind, at=now)))
            # Two dozen signals, a sequence and the router: time enough on a busy machine.
            view = await view_when(h, lead, lambda v: "assigned" in log(v), within=30)
            assert (view.stage, view.score) == ("sql", 44)
            await act(h, lead, action="accept", actor="ana")
            await act(h, lead, action="return_to_nurture", actor="ana", reason="timing")
            view = await view_when(h, lead, lambda v: sent(v, "keep_in_touch"), within=30)
            assert (view.stage, view.score) == ("recycled", 34)

            await h.env.sleep(timedelta(seconds=70))
            for kind, props in [("page_viewed", {"section": "careers"}), ("no_such_event", {})]:
                at = await h.now()
                await h.gateway.tell(lead, EventReceived(event=event(kind, at=at, **props)))
                view = await view_when(h, lead, lambda v, at=at: v.last_activity_at == at)
                assert (view.stage, track(view)) == ("recycled", "recycle-timing")
            for kind in ("webinar_registered", "support_contacted"):
                await h.gateway.tell(lead, EventReceived(event=event(kind, at=await h.now())))
            view = await view_when(h, lead, lambda v: v.score == 34 + 8)
            assert (view.stage, track(view)) == ("recycled", "recycle-timing")

            await h.gateway.tell(
                lead, EventReceived(event=event("webinar_replay_watched", at=await h.now()))
            )
            view = await view_when(h, lead, lambda v: v.stage == "mql")
            view = await view_when(h, lead, lambda v: track(v) != "recycle-timing")
        assert view.score == 46 and len(view.handoffs) == 1
        change = [t for t in view.transitions if t.field == "stage"][-1]
        assert (change.from_value, change.to_value) == ("recycled", "mql")
        assert change.reason == "event webinar_replay_watched: score 46 reached the mql threshold"
        recycle = next(e for e in view.enrolments if e.sequence == "recycle-timing")
        assert recycle.result == "stopped" and recycle.ended_at is not None


def track(view: LeadView) -> str | None:
    """The rule-driven sequence the lead is in, by name."""
    return view.sequence.sequence if view.sequence else None


POOL_TEAM = """
manager = "boss@example.com"
match = ["territory"]
relax = []
[hours]
days = [1, 2, 3, 4, 5, 6, 7]
start = "00:00"
end = "23:59:59.999999"
[[reps]]
id = "ana"
name = "Ana Lima"
email = "ana@example.com"
timezone = "UTC"
territories = ["FR"]
capacity = 1
[[reps]]
id = "bob"
name = "Bob Stone"
email = "bob@example.com"
timezone = "UTC"
territories = ["FR"]
"""


class TestPool:
    """A rep who takes a lead from the pool has one more open lead, counted by the router."""

    async def test_claim_counts_and_close_balances(
        self, harness, always_open: Path, tmp_path: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """A US lead matches nobody and goes to the pool; Ana (capacity 1) accepts it, so
        the next French lead goes to Bob, Ana being full. Disqualifying the pooled lead
        releases Ana: open counts are back where they were, Bob's lead still counted."""
        team = tmp_path / "sales.toml"
        team.write_text(POOL_TEAM)
        async with harness(project_file=always_open, sales_file=team, env=sales_env) as h:
            router = h.client.get_workflow_handle(router_workflow_id(h.task_queue))
            now = await h.now()
            us = submission(persona_lead(country="US"), at=now)
            await h.gateway.submit_form("ho-pool", us)
            await h.gateway.tell("ho-pool", EventReceived(event=event("demo_requested", at=now)))
            await view_when(h, "ho-pool", lambda v: "pooled" in log(v))
            view = await act(h, "ho-pool", action="accept", actor="ana")
            assert view.handoffs[-1].owner == "ana"

            async def ana_counted() -> bool:
                return (await router.query(RouterWorkflow.rotation))["open"].get("ana") == 1

            await eventually(ana_counted)
            fr = submission(persona_lead("grace@example.fr", country="FR"), at=await h.now())
            await h.gateway.submit_form("ho-next", fr)
            await h.gateway.tell(
                "ho-next", EventReceived(event=event("demo_requested", at=await h.now()))
            )
            routed = await view_when(h, "ho-next", lambda v: "assigned" in log(v))
            await act(h, "ho-pool", action="disqualify", actor="ana", reason="student")

            async def ana_released() -> bool:
                return (await router.query(RouterWorkflow.rotation))["open"].get("ana") == 0

            await eventually(ana_released)
            rotation = await router.query(RouterWorkflow.rotation)
        assert routed.handoffs[-1].owner == "bob"
        assert rotation == {"assigned": {"bob": 1}, "open": {"ana": 0, "bob": 1}}


async def test_gateway_turns_refusals_into_action_refused(
    harness, always_open: Path, team_file: Path, sales_env: WorkflowEnvironment
) -> None:
    """Through the API's gateway: accept works, a second accept is refused with the reason
    (ActionRefused, which the API answers with 409), and an unknown lead is LeadNotFound."""
    async with harness(project_file=always_open, sales_file=team_file, env=sales_env) as h:
        await make_sql(h, "ho-gw")
        await view_when(h, "ho-gw", lambda v: "assigned" in log(v))
        view = await h.gateway.act("ho-gw", SalesAction(action="accept", actor="ana"))
        assert view.handoffs[-1].accepted_at is not None
        with pytest.raises(ActionRefused, match="already accepted by ana"):
            await h.gateway.act("ho-gw", SalesAction(action="accept", actor="bob"))
        with pytest.raises(LeadNotFound):
            await h.gateway.act("ho-nobody", SalesAction(action="accept", actor="ana"))


async def test_concurrent_handoffs_keep_the_rotation_exact(
    harness, always_open: Path, tmp_path: Path, sales_env: WorkflowEnvironment
) -> None:
    """Twelve leads raise their hands at the same moment; with Ana at weight 2 and Bob at 1
    the router gives Ana exactly 8 and Bob 4, each lead once."""
    weighted = tmp_path / "sales.toml"
    weighted.write_text(TEAM.replace('id = "ana"', 'id = "ana"\nweight = 2'))
    async with harness(project_file=always_open, sales_file=weighted, env=sales_env) as h:
        leads = [f"ho-many-{i}" for i in range(12)]
        await asyncio.gather(*(make_sql(h, lead) for lead in leads))
        views = [await view_when(h, lead, lambda v: "assigned" in log(v)) for lead in leads]
        router = h.client.get_workflow_handle(router_workflow_id(h.task_queue))
        rotation = await router.query(RouterWorkflow.rotation)
    owners = Counter(v.handoffs[-1].owner for v in views)
    assert owners == {"ana": 8, "bob": 4}
    assert rotation == {"assigned": {"ana": 8, "bob": 4}, "open": {"ana": 8, "bob": 4}}


class TestUndeliverableAlert:
    """A sales alert that bounces is in the sales log, and the hand-off goes on."""

    async def test_the_lead_lives_on_and_can_be_accepted(
        self, harness, always_open: Path, team_file: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """Ana's address answers 550: the lead does not fail, the log says what was not
        delivered, and Ana can still accept it (from the CRM, say)."""
        async with harness(project_file=always_open, sales_file=team_file, env=sales_env) as h:
            now = await h.now()
            await h.gateway.submit_form("ho-bounce", submission(at=now))
            await view_when(h, "ho-bounce", lambda v: sent(v, "thank_you"))
            h.mailer.failures.append(PermanentDeliveryError("SMTP 550: no such user", 550))
            await h.gateway.tell("ho-bounce", EventReceived(event=event("demo_requested", at=now)))
            view = await view_when(h, "ho-bounce", lambda v: "undelivered" in log(v))
            (entry,) = [e for e in view.sales_log if e.kind == "undelivered"]
            assert entry.detail.startswith("sales_alert to ana@example.com: bounced, SMTP 550")
            assert (view.stage, view.handoffs[-1].owner) == ("sql", "ana")
            view = await act(h, "ho-bounce", action="accept", actor="ana")
            assert view.handoffs[-1].accepted_at is not None
