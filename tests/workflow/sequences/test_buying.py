"""The buying-stage sequences on the time-skipping server, to the minute: evaluation (both
branches, a goal mid-wait) and decision (a click brings the quote forward, a request ends it)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.workflow.sequences.sequencetools import event, offsets, snapshot, start, status_when
from workflows import SequenceWorkflow


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
