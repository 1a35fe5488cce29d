"""SequenceWorkflow on the time-skipping server: exact timings, branches, goals, windows, caps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from nurture.models import LeadEvent
from nurture.sequencing import LeadSnapshot, SequenceInput, SequenceStatus
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
    h: Harness, lead: LeadSnapshot, name: str = "evaluation"
) -> WorkflowHandle[SequenceWorkflow, object]:
    workflow_id = f"seq-test-{uuid.uuid4().hex[:8]}"
    h.started.append(workflow_id)
    return await h.client.start_workflow(
        SequenceWorkflow.run,
        SequenceInput(name=name, version=1, enrolment=1, lead=lead),
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
    """The shipped discovery sequence, to the minute, with an always-open window."""

    async def test_no_click_goes_to_the_community(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """Needs at once; no click in 3 days, then 2 more days: the community at +5d."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            handle = await start(h, snapshot("disc-timeout"), "discovery")
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
            handle = await start(h, snapshot("disc-click"), "discovery")
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
