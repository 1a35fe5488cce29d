"""A lead enters, feeds and leaves its sequences: LeadWorkflow with SequenceWorkflow children."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.messages import EventReceived
from nurture.domain.lead.state import Enrolment
from nurture.domain.lead.view import LeadView
from tests.conftest import Harness
from tests.helpers import ROOT, SQL_BY_SCORE, event, submission
from tests.waiting import eventually, view_when
from workflows import search_attributes


async def reach_evaluation(
    h: Harness, lead_id: str, welcome_after: timedelta = timedelta(days=2)
) -> datetime:
    """Form (8 points of discovery) then six product-page visits: evaluation at 20."""
    now = await h.now()
    await h.gateway.submit_form(lead_id, submission(at=now, delay=welcome_after))
    for _ in range(6):
        await h.gateway.tell(
            lead_id, EventReceived(event=event("page_viewed", at=now, section="product"))
        )
    return now


def tracks(view: LeadView) -> list[Enrolment]:
    """The lead's rule-driven enrolments (not its welcomes)."""
    return [e for e in view.enrolments if not e.alongside]


def sent(view: LeadView) -> list[str]:
    return [e.template for e in view.emails if e.status == "sent"]


class TestEnrolment:
    """Reaching the evaluation buying stage enters the evaluation sequence."""

    async def test_enters_and_reports_back(self, harness, always_open: Path) -> None:
        """The child starts, its first email shows in the lead's emails and summary."""
        async with harness(project_file=always_open) as h:
            await reach_evaluation(h, "lead-seq-1")
            view = await view_when(h, "lead-seq-1", lambda v: "buying_guide" in sent(v))
            assert view.buying_stage == "evaluation"
            assert view.sequence is not None
            assert (view.sequence.sequence, view.sequence.version) == ("evaluation", 1)
            assert view.sequence.workflow_id == "lead-lead-seq-1/seq-evaluation-1"
            h.started.append(view.sequence.workflow_id)
            assert h.templates() == ["thank_you", "buying_guide"]

    async def test_lead_shows_the_step_and_next_touch(self, harness, always_open: Path) -> None:
        """After the buying guide the sequence waits up to 4 days for a click: the lead's
        view, its UI summary and its NurtureNextTouch attribute say so."""
        async with harness(project_file=always_open) as h:
            await reach_evaluation(h, "lead-seq-step", welcome_after=timedelta(days=10))
            view = await view_when(
                h,
                "lead-seq-step",
                lambda v: v.sequence is not None and "email_clicked" in (v.sequence.step or ""),
            )
            seq = view.sequence
            assert seq is not None
            h.started.append(seq.workflow_id)
            guide = next(e for e in view.emails if e.template == "buying_guide")
            assert seq.step == "waiting up to 4d for email_clicked"
            assert seq.next_touch_at is not None
            assert abs(seq.next_touch_at - (guide.at + timedelta(days=4))) < timedelta(seconds=5)
            # The welcome starts in 10 days: the sequence's step is the lead's next touch.
            assert view.next_touch_at == seq.next_touch_at
            handle = h.client.get_workflow_handle(workflow_id_for("lead-seq-step"))

            async def summary_shows_step() -> bool:
                meta = await handle.query(
                    "__temporal_workflow_metadata", result_type=WorkflowMetadata
                )
                return "**Step:** waiting up to 4d for email_clicked" in meta.current_details

            await eventually(summary_shows_step)
            attrs = (await handle.describe()).typed_search_attributes
            assert attrs.get(search_attributes.NEXT_TOUCH) == view.next_touch_at

    async def test_goal_event_on_the_lead_ends_the_sequence(
        self, harness, always_open: Path, tmp_path: Path
    ) -> None:
        """With no hand-raise events configured, a demo request is only the sequence's goal:
        forwarded by the lead, it ends the sequence with its goal."""
        shipped = (ROOT / "config" / "sales.toml").read_text()
        no_hand_raise = tmp_path / "sales.toml"
        no_hand_raise.write_text(
            shipped.replace(
                'hand_raise_events = ["demo_requested", "quote_requested"]',
                "hand_raise_events = []",
            )
        )
        async with harness(project_file=always_open, sales_file=no_hand_raise) as h:
            now = await reach_evaluation(h, "lead-seq-2")
            view = await view_when(h, "lead-seq-2", lambda v: "buying_guide" in sent(v))
            h.started.append(view.sequence.workflow_id)  # type: ignore[union-attr]
            await h.gateway.tell("lead-seq-2", EventReceived(event=event("demo_requested", at=now)))
            view = await view_when(h, "lead-seq-2", lambda v: v.sequence is None)
            (ended,) = tracks(view)
            assert ended.result == "goal" and ended.ended_at is not None

    async def test_hand_off_to_sales_stops_the_sequence(
        self, harness, always_open: Path, time_env: WorkflowEnvironment
    ) -> None:
        """Scoring past the SQL threshold cancels the running sequence at once (on a server
        of its own: router traffic, see tests/workflow/handoff/conftest.py)."""
        async with harness(project_file=always_open, env=time_env) as h:
            now = await reach_evaluation(h, "lead-seq-3")
            view = await view_when(h, "lead-seq-3", lambda v: "buying_guide" in sent(v))
            h.started.append(view.sequence.workflow_id)  # type: ignore[union-attr]
            for kind in SQL_BY_SCORE:
                await h.gateway.tell("lead-seq-3", EventReceived(event=event(kind, at=now)))
            # Routed before the test ends: no router update may be in flight at clean-up.
            view = await view_when(
                h,
                "lead-seq-3",
                lambda v: (
                    v.stage == "sql"
                    and v.sequence is None
                    and any(e.kind == "assigned" for e in v.sales_log)
                ),
            )
            # Support contacts may first move the lead on to the decision track; either
            # way, the track running when the lead became an SQL was stopped for it.
            *_, ended = tracks(view)
            assert ended.result == "stopped" and "stage 'sql'" in (ended.detail or "")
            assert all(e.ended_at for e in view.enrolments)
            child = h.client.get_workflow_handle(ended.workflow_id)

            async def cancelled() -> bool:
                status = (await child.describe()).status
                return status is not None and status.name == "CANCELED"

            await eventually(cancelled)


class TestReEngagement:
    """A lead quiet long enough wakes up on its own and enters re-engagement."""

    @pytest.fixture
    def quiet_after_20_days(self, always_open: Path) -> Path:
        text = always_open.read_text()
        assert 'inactive_for = "30d"' in text
        always_open.write_text(text.replace('inactive_for = "30d"', 'inactive_for = "20d"'))
        return always_open

    async def test_quiet_days_then_a_visit(self, harness, quiet_after_20_days: Path) -> None:
        """With ``inactive_for = "20d"`` (the scoring's own inactivity check is at 30 days, so
        only the enrolment rule can wake the lead): nothing on day 19, re-engagement's first
        email on day 20, and a visit ends it."""
        async with harness(project_file=quiet_after_20_days) as h:
            t0 = await h.now()
            await h.gateway.submit_form("lead-quiet", submission(at=t0))
            await view_when(h, "lead-quiet", lambda v: "thank_you" in sent(v))
            await h.env.sleep(timedelta(days=19))
            view = await view_when(h, "lead-quiet", lambda v: "second_conversion" in sent(v))
            assert view.sequence is None and "whats_new" not in sent(view)
            await h.env.sleep(timedelta(days=1, minutes=1))
            view = await view_when(h, "lead-quiet", lambda v: "whats_new" in sent(v))
            assert view.sequence is not None and view.sequence.sequence == "reengagement"
            h.started.append(view.sequence.workflow_id)
            (email,) = [e for e in view.emails if e.template == "whats_new"]
            assert timedelta(days=20) <= email.at - t0 < timedelta(days=20, minutes=2)
            await h.gateway.tell(
                "lead-quiet", EventReceived(event=event("page_viewed", at=await h.now()))
            )
            view = await view_when(h, "lead-quiet", lambda v: v.sequence is None)
            assert [(e.sequence, e.result) for e in tracks(view)] == [("reengagement", "goal")]


class TestMachineEvents:
    """A machine-made click (a scanner's, flagged ``machine``) is no click to the lead's
    sequences: it answers no ``wait_for``, and the lead's score and activity stay put."""

    async def test_a_scanner_click_answers_no_wait(self, harness, always_open: Path) -> None:
        """Evaluation waits 4 days for a click after the buying guide: the lead applies the
        scanner's click without forwarding it, so the webinar goes, not the case study."""
        async with harness(project_file=always_open) as h:
            await reach_evaluation(h, "lead-seq-machine")
            before = await view_when(
                h,
                "lead-seq-machine",
                lambda v: v.sequence is not None and "email_clicked" in (v.sequence.step or ""),
            )
            h.started.append(before.sequence.workflow_id)  # type: ignore[union-attr]
            handle = h.client.get_workflow_handle(workflow_id_for("lead-seq-machine"))
            seen = len((await handle.fetch_history()).events)
            clicked = event(
                "email_clicked",
                at=await h.now(),
                template="buying_guide",
                via="nurture",
                machine="scanner user agent",
            )
            await h.gateway.tell("lead-seq-machine", EventReceived(event=clicked))

            async def applied() -> bool:
                """A workflow task completed after the signal: the lead applied it."""
                after = (await handle.fetch_history()).events[seen:]
                kinds = [e.WhichOneof("attributes") for e in after]
                signalled = "workflow_execution_signaled_event_attributes"
                return (
                    signalled in kinds
                    and "workflow_task_completed_event_attributes"
                    in (kinds[kinds.index(signalled) :])
                )

            await eventually(applied)
            after = (await handle.fetch_history()).events[seen:]
            forwarded = [
                e.signal_external_workflow_execution_initiated_event_attributes.signal_name
                for e in after
                if e.HasField("signal_external_workflow_execution_initiated_event_attributes")
            ]
            assert "event_received" not in forwarded
            await h.skip(timedelta(days=4, minutes=1))
            view = await view_when(h, "lead-seq-machine", lambda v: "webinar_invite" in sent(v))
            assert "case_study" not in sent(view)
            assert (view.score, view.last_activity_at) == (before.score, before.last_activity_at)
