"""``LeadWorkflow``: one durable state machine per lead, id ``lead-<lead_id>``.

It orchestrates the pure journey (``nurture.domain.lead``): signals queue form submissions and
events (deduplicated by id), the loop applies them, sends what is due through the email
activity, sleeps on a durable timer until the next deadline (planned email or inactivity
penalty) and continues as new before its history grows large.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    # pydantic imports email_validator lazily, on the first email it validates; importing
    # it here passes it through the sandbox instead of re-importing it mid-workflow.
    import email_validator  # noqa: F401

    from nurture.domain.lead import journey
    from nurture.domain.lead.inbound import ErasureFacts, Inbound, LeadWorkflowInput
    from nurture.domain.lead.journey import (
        AddressBounced,
        EmailRecord,
        LeadState,
        OptInConfirmed,
        OptOut,
        PlannedEmail,
    )
    from nurture.domain.lead.view import LeadView, lead_view, summary_markdown
    from nurture.domain.models import FormSubmitted, LeadEvent
    from nurture.domain.sales import handoff
    from nurture.domain.sales.records import SalesAction
    from nurture.domain.scoring import ScoringModel
    from nurture.domain.sequences.models import SequenceOutcome, SequenceProgress
    from workflows import search_attributes

from workflows.activities import (
    forget_sends,
    load_enrolment_rules,
    load_sales_team,
    load_scoring_model,
)
from workflows.enrolments import SequenceManager
from workflows.mail import send_email
from workflows.sales import SalesDesk

__all__ = ["LeadWorkflow", "LeadWorkflowInput"]

_NO_HANDOFF = "this lead has no sales hand-off to act on"


@workflow.defn
class LeadWorkflow:
    """A lead's whole lifecycle, from the first form post on."""

    @workflow.init
    def __init__(self, input: LeadWorkflowInput) -> None:
        self._input = input
        self._state = input.state
        self._inbox: list[Inbound] = list(input.pending)
        self._model: ScoringModel | None = None
        self._applied_this_run = 0
        self._published: dict[str, Any] = {}
        self._sequences: SequenceManager | None = None
        self._welcome_sequence = False
        self._sales: SalesDesk | None = None
        self._sales_seen: LeadState | None = None
        self._action_results: dict[str, str | None] = {}
        self._ready = False
        """True once run() has loaded its configuration and state."""

    @workflow.run
    async def run(self, input: LeadWorkflowInput) -> None:
        # Every patch is decided here, before the first await. A patch checked after a local
        # activity can land in a later workflow task than the activity's marker (when the
        # activity outlasts the task's heartbeat), and replay then takes the old branch.
        # "sequences": enrolment rules and sequence children; "welcome-sequence": the
        # welcome sequence sends a new form's second conversion, not the lead itself;
        # "publish-before-send": the UI sees a new stage even while the relay is down.
        sequences = workflow.patched("sequences")
        self._welcome_sequence = sequences and workflow.patched("welcome-sequence")
        publish_before_send = workflow.patched("publish-before-send")
        # "sales-handoff": SQLs are routed to a rep, with an SLA and sales actions.
        sales = workflow.patched("sales-handoff")
        # "weak-opens": an email_opened event no longer changes the stage by itself.
        weak_opens = workflow.patched("weak-opens")
        # "requalify": only a rising score moves the stage, and a lead sales returned must
        # re-qualify by new engagement; "claim-pooled": a rep taking a pooled lead tells
        # the router, which counts it as theirs.
        requalify = workflow.patched("requalify")
        claims = workflow.patched("claim-pooled")
        model = await workflow.execute_local_activity(
            load_scoring_model, start_to_close_timeout=timedelta(seconds=10)
        )
        self._model = model if weak_opens else model.model_copy(update={"weak_events": frozenset()})
        if not requalify:
            self._model = self._model.without_requalification()
        if sequences:
            rules = await workflow.execute_local_activity(
                load_enrolment_rules, start_to_close_timeout=timedelta(seconds=10)
            )
            self._sequences = SequenceManager(tuple(rules))
        if sales:
            team = await workflow.execute_local_activity(
                load_sales_team, start_to_close_timeout=timedelta(seconds=10)
            )
            self._sales = SalesDesk(team, count_claims=claims)
        if self._state is None:
            self._state = journey.start_state(input.lead_id, self._model)
        self._sales_seen = self._state
        self._ready = True
        while True:
            self._apply_inbox()
            self._state, expired = journey.expire_opt_ins(self._state, workflow.now())
            if expired and await self._forget_expired():
                return
            self._state = journey.apply_silence(self._state, self._model, workflow.now())
            await self._manage_sequences()
            if publish_before_send:
                self._publish()
            await self._send_due_emails()
            # After the lead's own mail: a form's thank-you never waits for the routing.
            await self._manage_sales()
            await self._start_due_sequences()
            self._publish()
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    LeadWorkflowInput(
                        lead_id=input.lead_id,
                        state=self._state,
                        pending=self._inbox,
                        max_inbound_per_run=input.max_inbound_per_run,
                    )
                )
            await self._sleep_until_next_deadline()

    @workflow.signal
    def submit_form(self, form: FormSubmitted) -> None:
        """A web form was posted for this lead."""
        self._enqueue(Inbound(form=form))

    @workflow.signal
    def event_received(self, event: LeadEvent) -> None:
        """A behavioural event happened (page view, click, download...)."""
        self._enqueue(Inbound(event=event))

    @workflow.signal
    def sequence_email(self, record: EmailRecord) -> None:
        """A sequence of this lead sent (or failed to send) an email."""
        self._enqueue(Inbound(sequence_email=record))

    @workflow.signal
    def sequence_ended(self, outcome: SequenceOutcome) -> None:
        """A sequence of this lead finished, reached its goal or exited."""
        self._enqueue(Inbound(sequence_ended=outcome))

    @workflow.signal
    def sequence_progress(self, progress: SequenceProgress) -> None:
        """A sequence of this lead moved to another step."""
        self._enqueue(Inbound(sequence_progress=progress))

    @workflow.signal
    def opt_out(self, opt_out: OptOut) -> None:
        """The person unsubscribed or complained: no more marketing mail, sequences stop.
        (The suppression list already holds the address; this updates the lead.)"""
        self._enqueue(Inbound(opt_out=opt_out))

    @workflow.signal
    def address_bounced(self, bounced: AddressBounced) -> None:
        """A provider reported the address as bouncing for good: nothing more is sent."""
        self._enqueue(Inbound(bounced=bounced))

    @workflow.signal
    def confirm_opt_in(self, confirmed: OptInConfirmed) -> None:
        """The address confirmed its double opt-in: the waiting form posts take effect."""
        self._enqueue(Inbound(confirmed=confirmed))

    @workflow.update
    async def act(self, action: SalesAction) -> LeadView:
        """A sales action: accept, return to nurture, disqualify, convert, won, lost."""
        key = action.action_id or workflow.current_update_info().id  # type: ignore[union-attr]
        await workflow.wait_condition(lambda: self._ready)
        if self._sales is None or self._state is None or self._state.lead is None:
            raise ApplicationError(_NO_HANDOFF, type="ActionRefused", non_retryable=True)
        if key not in self._action_results:
            self._enqueue(Inbound(sales_action=action, action_key=key))
        await workflow.wait_condition(lambda: key in self._action_results)
        refused = self._action_results[key]
        if refused:
            raise ApplicationError(refused, type="ActionRefused", non_retryable=True)
        view = self.get_state()
        assert view is not None
        return view

    @act.validator
    def _check_action(self, action: SalesAction) -> None:
        # A run that has not finished starting (just after continue-as-new, say) cannot judge
        # yet: the handler waits for it and applies the same checks.
        if not self._ready:
            return
        if self._sales is None or self._state is None or self._state.lead is None:
            raise ValueError(_NO_HANDOFF)
        key = action.action_id
        if key is not None and key in self._action_results:
            return
        reason = handoff.why_not(self._state, action)
        if reason:
            raise ValueError(reason)

    @workflow.query
    def erasure_facts(self) -> ErasureFacts:
        """The address and every workflow id of this lead, for erasure (never shown)."""
        state = self._state
        children = tuple(e.workflow_id for e in state.enrolments) if state else ()
        email = state.lead.email if state and state.lead else None
        return ErasureFacts(email=email, workflow_ids=(workflow.info().workflow_id, *children))

    @workflow.query
    def get_state(self) -> LeadView | None:
        """The lead as the API shows it; ``None`` until the first form is applied (and
        after a lead that never confirmed its double opt-in is forgotten)."""
        if self._state is None or self._state.lead is None or self._model is None:
            return None
        return lead_view(self._state, self._model, workflow.now())

    def _enqueue(self, item: Inbound) -> None:
        seen = self._state is not None and self._state.has_seen(item.id)
        if not seen and all(queued.id != item.id for queued in self._inbox):
            self._inbox.append(item)

    def _apply_inbox(self) -> None:
        assert self._state is not None and self._model is not None
        while self._inbox:
            item = self._inbox.pop(0)
            if self._state.has_seen(item.id):
                continue
            now = workflow.now()
            events = [item.event] if item.event else []
            if item.form:
                self._state = journey.apply_submission(
                    self._state,
                    item.form,
                    self._model,
                    now,
                    welcome_sequence=self._welcome_sequence,
                )
                held = {p.form.submission_id for p in self._state.unconfirmed}
                if item.form.submission_id not in held:
                    events.append(item.form.as_event())
            elif item.confirmed:
                waiting = self._state.held_forms()
                self._state = journey.apply_confirmation(
                    self._state,
                    item.confirmed,
                    self._model,
                    now,
                    welcome_sequence=self._welcome_sequence,
                )
                events += [form.as_event() for form in waiting]
            elif item.event:
                self._state = journey.apply_event(self._state, item.event, self._model, now)
            elif item.sequence_email:
                self._state = journey.record_email(self._state, item.sequence_email)
            elif item.sequence_ended:
                end = item.sequence_ended
                self._state = journey.end_enrolment(
                    self._state, end.workflow_id, end.result, end.detail, end.ended_at
                )
            elif item.opt_out:
                self._state = journey.apply_opt_out(self._state, item.opt_out)
            elif item.bounced:
                self._state = journey.apply_bounce(self._state, item.bounced)
            elif item.sales_action and item.action_key:
                self._apply_action(item.sales_action, item.action_key, now)
            elif item.sequence_progress:
                step = item.sequence_progress
                self._state = journey.record_progress(
                    self._state, step.workflow_id, step.step, step.next_touch_at
                )
            for event in events:
                sales = self._sales
                if sales is not None and sales.is_hand_raise(event.type):
                    self._state = handoff.hand_raise(self._state, event.type, now)
                if self._sequences is not None:
                    self._sequences.forward(event)
            self._applied_this_run += 1

    def _apply_action(self, action: SalesAction, key: str, now: datetime) -> None:
        assert self._state is not None and self._model is not None and self._sales is not None
        if key in self._action_results:
            return
        refused = handoff.why_not(self._state, action)
        if refused is None:
            points = self._sales.team.return_score_adjustment
            self._state = handoff.apply_action(self._state, action, self._model, now, points)
        self._action_results[key] = refused

    async def _forget_expired(self) -> bool:
        """A lead known only from double opt-in posts nobody confirmed: forget its sends
        and end; True when the run is over. (Its history goes with the namespace's
        retention period.) A form posted meanwhile starts it afresh instead."""
        assert self._model is not None
        await workflow.execute_activity(
            forget_sends, self._input.lead_id, start_to_close_timeout=timedelta(seconds=30)
        )
        self._state = journey.start_state(self._input.lead_id, self._model)
        self._published = {}
        return not self._inbox

    async def _manage_sales(self) -> None:
        if self._sales is None or self._state is None or self._state.lead is None:
            return
        if self._sales_seen is not None:
            await self._sales.tell_router(self._sales_seen, self._state)
        view = self.get_state()
        assert view is not None
        self._state = await self._sales.manage(self._state, view)
        self._sales_seen = self._state

    async def _manage_sequences(self) -> None:
        if self._sequences is None or self._state is None or self._state.lead is None:
            return
        view = self.get_state()
        assert view is not None
        self._state = await self._sequences.manage(self._state, view)

    async def _start_due_sequences(self) -> None:
        if self._sequences is None or self._state is None or not self._state.starts:
            return
        view = self.get_state()
        assert view is not None
        self._state = await self._sequences.start_due(self._state, view)

    async def _send_due_emails(self) -> None:
        assert self._state is not None
        for email in journey.due_emails(self._state, workflow.now()):
            record = await self._deliver(email)
            self._state = journey.record_email(self._state, record)

    async def _deliver(self, email: PlannedEmail) -> EmailRecord:
        assert self._state is not None
        reason = journey.why_not_send(self._state, email)
        if reason:
            base = {"key": email.key, "template": email.template, "kind": email.kind}
            return EmailRecord(**base, status="skipped", at=workflow.now(), detail=reason)
        summary = f"{email.template} ({email.kind})"
        return await send_email(journey.send_input(self._state, email), summary)

    def _publish(self) -> None:
        """Refresh the UI summary and the search attributes when they changed."""
        view = self.get_state()
        if view is None:
            return
        workflow.set_current_details(summary_markdown(view))
        wanted = search_attributes.for_view(view)
        updates = search_attributes.updates_between(self._published, wanted)
        if updates:
            workflow.upsert_search_attributes(updates)
            self._published = wanted

    def _should_continue_as_new(self) -> bool:
        return (
            workflow.info().is_continue_as_new_suggested()
            or self._applied_this_run >= self._input.max_inbound_per_run
        )

    async def _sleep_until_next_deadline(self) -> None:
        assert self._state is not None and self._model is not None
        deadlines = [journey.next_deadline(self._state, self._model)]
        view = self.get_state()
        if self._sequences is not None and view is not None:
            deadlines.append(self._sequences.next_check(self._state, view))
        if self._sales is not None:
            deadlines.append(self._sales.next_deadline(self._state))
        deadline = min(filter(None, deadlines), default=None)
        timeout = None if deadline is None else max(deadline - workflow.now(), timedelta(0))
        with contextlib.suppress(asyncio.TimeoutError):
            await workflow.wait_condition(lambda: bool(self._inbox), timeout=timeout)
