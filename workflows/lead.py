"""``LeadWorkflow``: one durable state machine per lead, id ``lead-<lead_id>``.

It orchestrates the pure journey (``nurture.domain.lead``): one signal queues every message
(form posts, events, sequence reports, opt-outs; deduplicated by id), the loop applies them,
runs the lead's sequences and its hand-off to sales, sends what is due through the email
activity, hands what happened to the facts log's writer (``lead_facts``), sleeps on a
durable timer until the next deadline (planned email or inactivity penalty) and continues
as new before its history grows large.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    # pydantic imports email_validator lazily, on the first email it validates; importing
    # it here passes it through the sandbox instead of re-importing it mid-workflow.
    import email_validator  # noqa: F401

    from nurture.domain.factlog import Fact, facts_of_state
    from nurture.domain.lead import journey
    from nurture.domain.lead.compaction import compact
    from nurture.domain.lead.engagement import apply_silence
    from nurture.domain.lead.enrolments import sequence_workflow_ids
    from nurture.domain.lead.facts import LeadFacts, lead_facts
    from nurture.domain.lead.input import ErasureFacts, LeadWorkflowInput
    from nurture.domain.lead.mail_plan import due_emails, record_email, send_input, why_not_send
    from nurture.domain.lead.messages import LEAD_SIGNAL, Inbound, LeadMessage, SalesActed
    from nurture.domain.lead.opt_in import expire_opt_ins
    from nurture.domain.lead.state import EmailRecord, LeadState, PlannedEmail, start_state
    from nurture.domain.lead.view import LeadView, lead_view, summary_markdown
    from nurture.domain.sales import handoff
    from nurture.domain.sales.records import SalesAction
    from nurture.domain.sales.routing import SalesTeam
    from nurture.domain.scoring import ScoringModel
    from nurture.domain.sequences.rules import EnrolmentRule
    from workflows import search_attributes

from workflows.activities import (
    forget_sends,
    load_enrolment_rules,
    load_sales_team,
    load_scoring_model,
)
from workflows.config import LOAD_TIMEOUT, load_config
from workflows.lead_facts import FactWriter
from workflows.lead_sales import SalesDesk
from workflows.lead_sequences import SequenceManager
from workflows.mail import send_email
from workflows.patches import decide_patches

__all__ = ["LeadWorkflow", "LeadWorkflowInput"]

_NO_HANDOFF = "this lead has no sales hand-off to act on"


@workflow.defn
class LeadWorkflow:
    """A lead's whole lifecycle, from the first form post on."""

    @workflow.init
    def __init__(self, input: LeadWorkflowInput) -> None:
        self._input = input
        self._inbox: list[Inbound] = list(input.pending)
        self._writer = FactWriter(input.lead_id, input.state, input.unwritten_facts)
        # Set by run() once it has loaded its configuration; handlers wait for _ready.
        self._state: LeadState
        self._model: ScoringModel
        self._sequences: SequenceManager
        self._sales: SalesDesk
        self._sales_seen: LeadState
        self._applied_this_run = 0
        self._published: dict[str, Any] = {}
        self._action_results: dict[str, str | None] = {}
        self._ready = False
        self._facts_log = False
        self._config_ref = False
        self._owner_attributes = False

    @workflow.run
    async def run(self, input: LeadWorkflowInput) -> None:
        # Decided once, first thing, so the marker's place in the history never depends
        # on how the first pass went (a replay then finds it where it looks for it).
        patches = decide_patches()
        self._facts_log, self._config_ref = patches.facts_log, patches.config_ref
        self._owner_attributes = patches.owner_attributes
        await self._load()
        while True:
            self._apply_inbox()
            if await self._expire_opt_ins():
                return
            self._state = apply_silence(self._state, self._model, workflow.now())
            await self._manage_sequences()
            # The UI sees a new stage even while the relay is down.
            self._publish()
            await self._send_due_emails()
            # After the lead's own mail: a form's thank-you never waits for the routing.
            await self._manage_sales()
            await self._start_due_sequences()
            self._publish()
            if self._should_continue_as_new():
                if workflow.all_handlers_finished():
                    workflow.continue_as_new(
                        LeadWorkflowInput(
                            lead_id=input.lead_id,
                            # Facts not written yet are derived from the whole state;
                            # the next run carries only the newest records.
                            state=compact(self._state),
                            pending=self._inbox,
                            max_inbound_per_run=input.max_inbound_per_run,
                            unwritten_facts=self._writer.unwritten(self._state),
                        )
                    )
                # A sales action's update waits for this loop to apply it: go round again
                # (waiting here for the handler alone, neither would ever move).
                await workflow.wait_condition(
                    lambda: workflow.all_handlers_finished() or bool(self._inbox)
                )
                continue
            # After the pass's sends: a write of facts never holds an email back. (Not on
            # the way out: the next run writes what this one has not, in its first pass.)
            if self._facts_log:
                self._writer.hand_over(self._state)
            await self._sleep_until_next_deadline()

    @workflow.signal(name=LEAD_SIGNAL)
    def message_received(self, message: LeadMessage) -> None:
        """A message for this lead: a form post, an event, a sequence's report, an
        opt-out... Queued here, applied by the loop, so a message arriving while the loop
        awaits something can never be overwritten by the loop's own update."""
        self._enqueue(message)

    @workflow.update
    async def act(self, action: SalesAction) -> LeadView:
        """A sales action: accept, return to nurture, disqualify, convert, won, lost."""
        key = action.action_id or workflow.current_update_info().id  # type: ignore[union-attr]
        await workflow.wait_condition(lambda: self._ready)
        if self._state.lead is None:
            raise ApplicationError(_NO_HANDOFF, type="ActionRefused", non_retryable=True)
        if key not in self._action_results:
            self._enqueue(SalesActed(action=action, key=key))
        await workflow.wait_condition(lambda: key in self._action_results)
        refused = self._action_results[key]
        if refused:
            raise ApplicationError(refused, type="ActionRefused", non_retryable=True)
        return lead_view(self._state, self._model, workflow.now())

    @act.validator
    def _check_action(self, action: SalesAction) -> None:
        # A run that has not finished starting (just after continue-as-new, say) cannot judge
        # yet: the handler waits for it and applies the same checks.
        if not self._ready:
            return
        if self._state.lead is None:
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
        state = self._known_state()
        children = sequence_workflow_ids(state) if state else ()
        email = state.lead.email if state and state.lead else None
        return ErasureFacts(email=email, workflow_ids=(workflow.info().workflow_id, *children))

    @workflow.query
    def logged_facts(self) -> list[Fact]:
        """Every fact the lead's state proves, with the ids the live log uses: what
        ``nurture facts backfill`` writes for a lead that lived before the log."""
        state = self._known_state()
        return facts_of_state(state) if state else []

    @workflow.query
    def get_state(self) -> LeadView | None:
        """The lead as the API shows it; ``None`` until the first form is applied (and
        after a lead that never confirmed its double opt-in is forgotten)."""
        if not self._ready or self._state.lead is None:
            return None
        return lead_view(self._state, self._model, workflow.now())

    async def _load(self) -> None:
        """Load the configuration this run works with; the state starts afresh or goes on."""
        if self._config_ref:
            config = await load_config()
            model, rules, team = config.scoring, config.enrolment, config.sales
        else:
            model, rules, team = await self._load_each_part()
        self._model = model
        self._sequences = SequenceManager(rules)
        self._sales = SalesDesk(team)
        self._state = self._input.state or start_state(self._input.lead_id, model)
        self._sales_seen = self._state
        self._ready = True

    async def _load_each_part(
        self,
    ) -> tuple[ScoringModel, tuple[EnrolmentRule, ...], SalesTeam]:
        """The configuration as runs begun before ``CONFIG_REF_PATCH`` load it: each part
        by a local activity of its own, recorded whole in the history."""
        model = await workflow.execute_local_activity(
            load_scoring_model, start_to_close_timeout=LOAD_TIMEOUT
        )
        rules = await workflow.execute_local_activity(
            load_enrolment_rules, start_to_close_timeout=LOAD_TIMEOUT
        )
        team = await workflow.execute_local_activity(
            load_sales_team, start_to_close_timeout=LOAD_TIMEOUT
        )
        return model, tuple(rules), team

    def _known_state(self) -> LeadState | None:
        """The state as far as it is known: the input's until run() has loaded."""
        return self._state if self._ready else self._input.state

    def _facts(self) -> LeadFacts:
        return lead_facts(self._state, self._model, workflow.now())

    def _enqueue(self, message: Inbound) -> None:
        state = self._known_state()
        seen = state is not None and state.has_seen(message.id)
        if not seen and all(queued.id != message.id for queued in self._inbox):
            self._inbox.append(message)

    def _apply_inbox(self) -> None:
        team = self._sales.team
        while self._inbox:
            message = self._inbox.pop(0)
            if self._state.has_seen(message.id):
                continue
            context = journey.ApplyContext(
                model=self._model,
                now=workflow.now(),
                hand_raise_events=team.hand_raise_events,
                return_points=team.return_score_adjustment,
            )
            applied = journey.apply(self._state, message, context)
            self._state = applied.state
            self._writer.note_message(message, context.now)
            for event in applied.forward:
                self._sequences.forward(event)
            if isinstance(message, SalesActed):
                self._action_results[message.key] = applied.refused
            self._applied_this_run += 1

    async def _expire_opt_ins(self) -> bool:
        """Drop the double opt-in posts nobody confirmed in time; True when the run is over."""
        self._state, expired = expire_opt_ins(self._state, workflow.now())
        return expired and await self._forget_expired()

    async def _forget_expired(self) -> bool:
        """A lead known only from double opt-in posts nobody confirmed: forget its sends
        and end; True when the run is over. (Its history goes with the namespace's
        retention period.) A form posted meanwhile starts it afresh instead."""
        await workflow.execute_activity(
            forget_sends, self._input.lead_id, start_to_close_timeout=timedelta(seconds=30)
        )
        self._state = start_state(self._input.lead_id, self._model)
        self._published = {}
        return not self._inbox

    async def _manage_sales(self) -> None:
        if self._state.lead is None:
            return
        await self._sales.tell_router(self._sales_seen, self._state)
        self._state = await self._sales.manage(self._state, self._facts())
        self._sales_seen = self._state

    async def _manage_sequences(self) -> None:
        if self._state.lead is not None:
            self._state = await self._sequences.manage(self._state, self._facts())

    async def _start_due_sequences(self) -> None:
        if self._state.starts:
            self._state = await self._sequences.start_due(self._state, self._facts())

    async def _send_due_emails(self) -> None:
        for email in due_emails(self._state, workflow.now()):
            record = await self._deliver(email)
            # The record keeps that it was planned: the facts log derives it from the state.
            self._state = record_email(
                self._state, record.model_copy(update={"due_at": email.due_at})
            )

    async def _deliver(self, email: PlannedEmail) -> EmailRecord:
        reason = why_not_send(self._state, email)
        if reason:
            base = {"key": email.key, "template": email.template, "kind": email.kind}
            return EmailRecord(**base, status="skipped", at=workflow.now(), detail=reason)
        summary = f"{email.template} ({email.kind})"
        return await send_email(send_input(self._state, email), summary)

    def _publish(self) -> None:
        """Refresh the UI summary and the search attributes when they changed."""
        if self._state.lead is None:
            return
        view = lead_view(self._state, self._model, workflow.now())
        workflow.set_current_details(summary_markdown(view))
        wanted = search_attributes.for_view(view)
        if not self._owner_attributes:
            wanted = {
                k: v for k, v in wanted.items() if k not in search_attributes.OWNER_ATTRIBUTES
            }
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
        deadlines = [
            journey.next_deadline(self._state, self._model),
            self._sales.next_deadline(self._state),
        ]
        if self._state.lead is not None:  # no profile, no sequence to check on
            deadlines.append(self._sequences.next_check(self._state, self._facts()))
        deadline = min(filter(None, deadlines), default=None)
        timeout = None if deadline is None else max(deadline - workflow.now(), timedelta(0))
        with contextlib.suppress(asyncio.TimeoutError):
            await workflow.wait_condition(lambda: bool(self._inbox), timeout=timeout)
