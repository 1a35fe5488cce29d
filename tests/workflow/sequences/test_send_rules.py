"""When marketing email may go out: the frequency cap defers a send, and the send window in
the lead's zone holds across a daylight-saving change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from tests.waiting import eventually
from tests.workflow.sequences.sequencetools import (
    offsets,
    saturday_before_spring_change,
    snapshot,
    start,
    status_when,
)
from workflows import SequenceWorkflow


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
            saturday = saturday_before_spring_change(now)
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
