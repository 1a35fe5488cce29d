"""The discovery sequence on the time-skipping server, to the minute: both branches, what v2
adds, v3's experiment, and leads on v1 and v2 running side by side on one worker."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.workflow.sequences.sequencetools import event, offsets, snapshot, start, status_when
from workflows import SequenceWorkflow


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


class TestDiscoveryExperiment:
    """Discovery v3 splits its first email's subject, with a holdout that skips it."""

    async def test_variant_gets_the_first_email(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """A lead drawn into a variant: v2's steps, with the variant recorded for its emails."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            # assign_variant puts disc3-3 in "benefit" (a stable hash of the lead id).
            handle = await start(h, snapshot("disc3-3"), "discovery", 3)
            await status_when(handle, 1)
            await time_env.sleep(timedelta(days=5, minutes=1))
            await handle.result()
            status = await handle.query(SequenceWorkflow.get_status)
        assert status.variant == {"needs-subject": "benefit"}
        assert offsets(status, t0) == [
            ("about_your_needs", timedelta(0)),
            ("newsletter_highlights", timedelta(days=3)),
            ("join_the_community", timedelta(days=5)),
        ]

    async def test_holdout_skips_the_first_email(
        self, harness, time_env: WorkflowEnvironment, always_open: Path
    ) -> None:
        """A lead in the holdout gets no first email; the rest follows as for the others."""
        async with harness(project_file=always_open) as h:
            t0 = await h.now()
            # assign_variant puts disc3-7 in the 10% holdout.
            handle = await start(h, snapshot("disc3-7"), "discovery", 3)
            await time_env.sleep(timedelta(days=5, minutes=1))
            await handle.result()
            status = await handle.query(SequenceWorkflow.get_status)
        assert status.variant == {"needs-subject": None}
        assert offsets(status, t0) == [
            ("newsletter_highlights", timedelta(days=3)),
            ("join_the_community", timedelta(days=5)),
        ]
