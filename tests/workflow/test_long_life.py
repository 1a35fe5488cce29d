"""A lead with a long past continues as new carrying only the newest of its records."""

from __future__ import annotations

from datetime import timedelta

from nurture.domain.emails import EmailKind
from nurture.domain.identity import workflow_id_for
from nurture.domain.lead import journey
from nurture.domain.lead.compaction import EMAILS_KEPT, TRANSITIONS_KEPT
from nurture.domain.lead.input import LeadWorkflowInput
from nurture.domain.lead.messages import EventReceived
from nurture.domain.lead.state import EmailRecord, Transition, start_state
from tests.helpers import event, scoring_model, submission
from tests.waiting import view_when
from workflows import LeadWorkflow


async def test_the_next_run_carries_the_newest_records(harness) -> None:
    """A lead whose run starts with 300 emails and 300 changes behind it (as a run after
    years would) gets one event with a limit of one message per run: the next run holds
    the newest records, counts the others, and the lead goes on (the event scored)."""
    async with harness(max_inbound_per_run=1) as h:
        now = await h.now()
        past = now - timedelta(days=900)
        state = journey.apply_submission(
            start_state("wf-long", scoring_model()), submission(at=past), scoring_model(), past
        )
        emails = tuple(
            EmailRecord(
                key=f"old-{n}",
                template="digest",
                kind=EmailKind.MARKETING,
                status="sent",
                at=past + timedelta(days=n),
            )
            for n in range(300)
        )
        changes = tuple(
            Transition(
                field="buying_stage",
                from_value="awareness",
                to_value="awareness",
                at=past + timedelta(days=n, hours=1),
                reason="a change",
            )
            for n in range(300)
        )
        state = state.model_copy(
            update={
                "planned": (),  # its thank-you and welcome are long past
                "starts": (),
                "emails": emails,
                "transitions": (*state.transitions, *changes),
                "last_activity_at": now,
            }
        )
        workflow_id = workflow_id_for("wf-long")
        h.started.append(workflow_id)
        await h.client.start_workflow(
            LeadWorkflow.run,
            LeadWorkflowInput(lead_id="wf-long", state=state, max_inbound_per_run=1),
            id=workflow_id,
            task_queue=h.task_queue,
        )
        await h.gateway.tell("wf-long", EventReceived(event=event("page_viewed", at=now)))
        view = await view_when(h, "wf-long", lambda v: v.archived.emails > 0)
        assert [e.key for e in view.emails] == [e.key for e in emails[-EMAILS_KEPT:]]
        assert view.archived.emails == 300 - EMAILS_KEPT
        assert len(view.transitions) == TRANSITIONS_KEPT
        assert view.archived.transitions == len(state.transitions) - TRANSITIONS_KEPT
        history = await h.client.get_workflow_handle(workflow_id).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        assert started.continued_execution_run_id, "the lead never continued as new"
        assert any(line.hits for line in view.explanation), "the event was not scored"
        assert h.mailer.sent == []
