"""The customer sequences, to the minute: onboarding (a click skips the live session) and the
upsell or cross-sell chosen by company size."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.workflow.sequences.sequencetools import event, offsets, snapshot, start, status_when
from workflows import SequenceWorkflow


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
