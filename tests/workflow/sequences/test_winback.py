"""Sequences that try to win a lead back, to the minute: re-engagement of a silent lead (a
sign of life ends it) and the recycle sequences for leads sales returned."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.workflow.sequences.sequencetools import event, offsets, snapshot, start, status_when
from workflows import SequenceWorkflow


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
