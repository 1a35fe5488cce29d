"""What sales do with a lead, through Temporal updates and the API's gateway: accept,
convert, win, return to nurture; refused actions leave no trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from nurture.adapters.temporal.gateway import ActionRefused, LeadNotFound
from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.messages import EventReceived
from nurture.domain.lead.view import LeadView
from nurture.domain.sales.records import SalesAction
from nurture.domain.sales.router import router_workflow_id
from tests.helpers import event
from tests.waiting import sent, view_when
from tests.workflow.handoff.handofftools import act, log, make_sql
from workflows import RouterWorkflow


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
