"""SequenceWorkflow on the time-skipping server: exact timings, branches, goals, windows, caps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from nurture.domain.models import LeadEvent
from nurture.domain.sequences.models import LeadSnapshot, SequenceInput, SequenceStatus
from tests.conftest import Harness
from tests.waiting import eventually
from workflows import SequenceWorkflow


def snapshot(lead_id: str, **changes: object) -> LeadSnapshot:
    fields: dict[str, object] = {
        "lead_id": lead_id,
        "email": f"{lead_id}@seq.example",
        "full_name": "Ada Lovelace",
        "timezone": "Europe/Paris",
        "attributes": {"first_name": "Ada", "full_name": "Ada Lovelace"},
        **changes,
    }
    return LeadSnapshot.model_validate(fields)


async def start(
    h: Harness, lead: LeadSnapshot, name: str = "evaluation", version: int = 1
) -> WorkflowHandle[SequenceWorkflow, object]:
    workflow_id = f"seq-test-{uuid.uuid4().hex[:8]}"
    h.started.append(workflow_id)
    return await h.client.start_workflow(
        SequenceWorkflow.run,
        SequenceInput(name=name, version=version, enrolment=1, lead=lead),
        id=workflow_id,
        task_queue=h.task_queue,
    )


async def status_when(
    handle: WorkflowHandle[SequenceWorkflow, object], sent: int
) -> SequenceStatus:
    box: list[SequenceStatus] = []

    async def check() -> bool:
        box[:] = [await handle.query(SequenceWorkflow.get_status)]
        return len([e for e in box[0].emails if e.status == "sent"]) >= sent

    await eventually(check)
    return box[0]


def event(kind: str, at: datetime, **properties: object) -> LeadEvent:
    return LeadEvent.model_validate(
        {"id": uuid.uuid4().hex, "type": kind, "occurred_at": at, "properties": properties}
    )


def offsets(status: SequenceStatus, t0: datetime) -> list[tuple[str, timedelta]]:
    """(template, time after t0 rounded to the minute) for each email sent."""
    return [
        (e.template, timedelta(minutes=round((e.at - t0).total_seconds() / 60)))
        for e in status.emails
    ]


class TestEvaluationTimings:
    """The shipped evaluation sequence, to the minute, with an always-open window."""

    async def test_no_click_takes_the_webinar_branch(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """Guide at once, webinar at +4d (no click), expert at +7d, then completed."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            handle = await start(h, snapshot("seq-timeout"))
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=4, minutes=1))
            await status_when(handle, 2)
            await time_env.sleep(timedelta(days=3))
            outcome = await handle.result()
            status = await handle.query(SequenceWorkflow.get_status)
        assert offsets(status, t0) == [
            ("buying_guide", timedelta(0)),
            ("webinar_invite", timedelta(days=4)),
            ("talk_to_an_expert", timedelta(days=7)),
        ]
        assert outcome.result == "completed"
        assert h.templates() == ["buying_guide", "webinar_invite", "talk_to_an_expert"]

    async def test_click_takes_the_case_study_branch(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """A click on day 1 sends the case study at once; the expert follows 3 days later."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            handle = await start(h, snapshot("seq-click"))
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=1))
            await handle.signal(
                SequenceWorkflow.event_received,
                event("email_clicked", await h.now(), template="buying_guide"),
            )
            await status_when(handle, 2)
            await time_env.sleep(timedelta(days=3, minutes=1))
            await status_when(handle, 3)
            status = await handle.query(SequenceWorkflow.get_status)
        assert [t for t, _ in offsets(status, t0)] == [
            "buying_guide",
            "case_study",
            "talk_to_an_expert",
        ]
        assert offsets(status, t0)[1][1] == timedelta(days=1)
        assert offsets(status, t0)[2][1] == timedelta(days=4)

    async def test_goal_ends_the_sequence_mid_wait(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """A demo request during the wait ends it at once: no expert email, outcome goal."""
        async with harness(project_file=always_open) as h:
            handle = await start(h, snapshot("seq-goal"))
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=5))
            await status_when(handle, 2)
            await handle.signal(
                SequenceWorkflow.event_received, event("demo_requested", await h.now())
            )
            outcome = await handle.result()
        assert outcome.result == "goal" and "demo_requested" in (outcome.detail or "")
        assert h.templates() == ["buying_guide", "webinar_invite"]


class TestDiscoveryTimings:
    """The shipped discovery sequence (v1 and v2), to the minute, with an always-open window."""

    async def test_no_click_goes_to_the_community(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """Needs at once; no click in 3 days, then 2 more days: the community at +5d."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            handle = await start(h, snapshot("disc-timeout"), "discovery", 1)
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=5, minutes=1))
            outcome = await handle.result()
            status = await handle.query(SequenceWorkflow.get_status)
        assert offsets(status, t0) == [
            ("about_your_needs", timedelta(0)),
            ("join_the_community", timedelta(days=5)),
        ]
        assert outcome.result == "completed"

    async def test_click_gets_the_product_tour(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """A click after 2 days sends the product presentation invite at once, then ends."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            handle = await start(h, snapshot("disc-click"), "discovery", 2)
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=2))
            await handle.signal(
                SequenceWorkflow.event_received,
                event("email_clicked", await h.now(), template="about_your_needs"),
            )
            outcome = await handle.result()
            status = await handle.query(SequenceWorkflow.get_status)
        assert offsets(status, t0) == [
            ("about_your_needs", timedelta(0)),
            ("product_presentation_invite", timedelta(days=2)),
        ]
        assert outcome.result == "completed"

    async def test_v2_adds_the_newsletter_highlights(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """v2 without a click: needs at once, newsletter highlights at +3d, community at +5d."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            handle = await start(h, snapshot("disc2-timeout"), "discovery", 2)
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=5, minutes=1))
            outcome = await handle.result()
            status = await handle.query(SequenceWorkflow.get_status)
        assert offsets(status, t0) == [
            ("about_your_needs", timedelta(0)),
            ("newsletter_highlights", timedelta(days=3)),
            ("join_the_community", timedelta(days=5)),
        ]
        assert outcome.result == "completed"

    async def test_two_versions_side_by_side(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """A lead still on v1 and a lead on v2, running at once on one worker: each follows
        the steps of the version it started, with its version in its email keys."""
        async with harness(project_file=always_open) as h:
            old = await start(h, snapshot("disc-old"), "discovery", 1)
            new = await start(h, snapshot("disc-new"), "discovery", 2)
            await status_when(old, 1)
            await status_when(new, 1)
            await time_env.sleep(timedelta(days=5, minutes=1))
            await old.result()
            await new.result()
            v1 = await old.query(SequenceWorkflow.get_status)
            v2 = await new.query(SequenceWorkflow.get_status)
        assert [e.template for e in v1.emails] == ["about_your_needs", "join_the_community"]
        assert [e.template for e in v2.emails] == [
            "about_your_needs",
            "newsletter_highlights",
            "join_the_community",
        ]
        assert all("seq-discovery-v1-" in e.key for e in v1.emails)
        assert all("seq-discovery-v2-" in e.key for e in v2.emails)
        assert (v1.version, v2.version) == (1, 2)


class TestDecisionTimings:
    """The shipped decision sequence: a demo, then a quote, ending on either request."""

    async def test_no_click_quote_after_three_days(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """Demo invite at once, quote at +3d, expert at +7d."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            handle = await start(h, snapshot("dec-timeout"), "decision")
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=3, minutes=1))
            await status_when(handle, 2)
            await time_env.sleep(timedelta(days=4))
            outcome = await handle.result()
            status = await handle.query(SequenceWorkflow.get_status)
        assert offsets(status, t0) == [
            ("book_a_demo", timedelta(0)),
            ("request_a_quote", timedelta(days=3)),
            ("talk_to_an_expert", timedelta(days=7)),
        ]
        assert outcome.result == "completed"

    async def test_click_brings_the_quote_forward_and_a_quote_request_ends_it(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """A click on day 1 sends the quote offer at once; a quote request ends it (goal)."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            handle = await start(h, snapshot("dec-click"), "decision")
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=1))
            await handle.signal(
                SequenceWorkflow.event_received,
                event("email_clicked", await h.now(), template="book_a_demo"),
            )
            status = await status_when(handle, 2)
            await handle.signal(
                SequenceWorkflow.event_received, event("quote_requested", await h.now())
            )
            outcome = await handle.result()
        assert offsets(status, t0) == [
            ("book_a_demo", timedelta(0)),
            ("request_a_quote", timedelta(days=1)),
        ]
        assert outcome.result == "goal" and "quote_requested" in (outcome.detail or "")


class TestReEngagementTimings:
    """Silent leads: what's new, then whether to stay in touch; any sign of life ends it."""

    async def test_no_response_exits_after_two_weeks(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """What's new at once, the check-in at +7d, an exit at +14d; opens do not count."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            handle = await start(h, snapshot("re-silent"), "reengagement")
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=1))
            await handle.signal(
                SequenceWorkflow.event_received,
                event("email_opened", await h.now(), template="whats_new"),
            )
            await time_env.sleep(timedelta(days=13, minutes=1))
            outcome = await handle.result()
            status = await handle.query(SequenceWorkflow.get_status)
        assert offsets(status, t0) == [
            ("whats_new", timedelta(0)),
            ("still_interested", timedelta(days=7)),
        ]
        assert outcome.result == "exited" and outcome.detail == "no response in 14 days"
        assert outcome.ended_at - t0 >= timedelta(days=14)

    async def test_a_visit_ends_it(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """A page view on day 2 is a sign of life: the sequence ends, no check-in is sent."""
        async with harness(project_file=always_open) as h:
            handle = await start(h, snapshot("re-back"), "reengagement")
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=2))
            await handle.signal(
                SequenceWorkflow.event_received,
                event("page_viewed", await h.now(), section="pricing"),
            )
            outcome = await handle.result()
        assert outcome.result == "goal" and "page_viewed" in (outcome.detail or "")
        assert h.templates() == ["whats_new"]


class TestCustomerTimings:
    """After the sale: onboarding, then upsell or cross-sell by company size."""

    async def test_onboarding_without_a_click_offers_the_session(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """Welcome at once, first steps at +2d, the live session at +9d."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            handle = await start(h, snapshot("onb-quiet"), "onboarding")
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=9, minutes=1))
            outcome = await handle.result()
            status = await handle.query(SequenceWorkflow.get_status)
        assert offsets(status, t0) == [
            ("welcome_aboard", timedelta(0)),
            ("getting_started", timedelta(days=2)),
            ("onboarding_session", timedelta(days=9)),
        ]
        assert outcome.result == "completed"

    async def test_onboarding_click_skips_the_session(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """A click on the first steps (day 3) means they are under way: no session email."""
        async with harness(project_file=always_open) as h:
            handle = await start(h, snapshot("onb-click"), "onboarding")
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=2, minutes=1))
            await status_when(handle, 2)
            await time_env.sleep(timedelta(days=1))
            await handle.signal(
                SequenceWorkflow.event_received,
                event("email_clicked", await h.now(), template="getting_started"),
            )
            outcome = await handle.result()
        assert outcome.result == "completed"
        assert h.templates() == ["welcome_aboard", "getting_started"]

    async def test_upsell_by_company_size(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """At +30d a 200-person company hears of the upgrade, a 12-person one of the
        companion product; both get the customer story at +40d."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            big = await start(h, snapshot("up-big", attributes={"company_size": 200}), "upsell")
            small = await start(h, snapshot("up-small", attributes={"company_size": 12}), "upsell")
            await time_env.sleep(timedelta(days=40, minutes=1))
            await big.result()
            await small.result()
            large = await big.query(SequenceWorkflow.get_status)
            little = await small.query(SequenceWorkflow.get_status)
        assert offsets(large, t0) == [
            ("upgrade_offer", timedelta(days=30)),
            ("customer_story", timedelta(days=40)),
        ]
        assert [t for t, _ in offsets(little, t0)] == ["companion_product", "customer_story"]


class TestRecycleTimings:
    """Leads sales handed back: by reason, a keep-in-touch or the case-building material,
    then a check-back."""

    @pytest.mark.parametrize(
        ("name", "first", "back_after"),
        [("recycle-timing", "keep_in_touch", 30), ("recycle-fit", "resources_for_later", 45)],
    )
    async def test_first_at_once_then_checking_back(
        self,
        harness,
        time_env: WorkflowEnvironment,
        always_open: Path,
        name: str,
        first: str,
        back_after: int,
    ) -> None:
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            handle = await start(h, snapshot(f"rec-{name}"), name)
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=back_after, minutes=1))
            outcome = await handle.result()
            status = await handle.query(SequenceWorkflow.get_status)
        assert offsets(status, t0) == [
            (first, timedelta(0)),
            ("checking_back", timedelta(days=back_after)),
        ]
        assert outcome.result == "completed"


class TestWhenMarketingMayGoOut:
    """Send windows in the lead's zone, and the frequency cap, hold marketing email back."""

    async def test_frequency_cap_defers_then_sends(self, harness, always_open: Path) -> None:
        """Three sends in the last 6 days: the guide waits a day for the oldest to expire."""
        async with harness(project_file=always_open) as h:
            now = await h.now()
            recent = tuple(now - timedelta(days=d) for d in (6, 2, 1))
            handle = await start(h, snapshot("seq-cap", marketing_sent_at=recent))
            await eventually(lambda: _step_contains(handle, "frequency cap"))
            assert h.templates() == []
            await h.env.sleep(timedelta(days=1, minutes=1))
            status = await status_when(handle, 1)
        ((template, delay),) = offsets(status, now)
        assert template == "buying_guide" and delay == timedelta(days=1)

    async def test_window_respected_across_dst(
        self, harness, time_env: WorkflowEnvironment
    ) -> None:
        """Enrolled on the Saturday before Europe's spring change, a Paris lead gets the guide
        on Monday at 09:00 Paris, which is 07:00 UTC once clocks have moved."""
        async with harness() as h:
            now = await h.now()
            saturday = _saturday_before_spring_change(now)
            await time_env.sleep(saturday - now)
            handle = await start(h, snapshot("seq-dst", timezone="Europe/Paris"))
            await eventually(lambda: _step_contains(handle, "send window"))
            await time_env.sleep(timedelta(days=2))
            status = await status_when(handle, 1)
        sent_at = status.emails[0].at.astimezone(UTC)
        monday = (saturday + timedelta(days=2)).date()
        assert sent_at.replace(second=0, microsecond=0) == datetime(
            monday.year, monday.month, monday.day, 7, 0, tzinfo=UTC
        )


async def _step_contains(handle: WorkflowHandle[SequenceWorkflow, object], text: str) -> bool:
    return text in (await handle.query(SequenceWorkflow.get_status)).step


def _saturday_before_spring_change(now: datetime) -> datetime:
    """10:00 UTC on the Saturday before the last Sunday of March (EU clocks go forward)."""
    year = now.year + (1 if now.month >= 3 else 0)
    last_sunday = max(
        datetime(year, 3, d, tzinfo=UTC)
        for d in range(25, 32)
        if datetime(year, 3, d, tzinfo=UTC).isoweekday() == 7
    )
    return last_sunday - timedelta(days=1) + timedelta(hours=10)
