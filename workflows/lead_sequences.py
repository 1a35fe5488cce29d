"""How a LeadWorkflow runs its sequences: start, feed, stop. Used by ``LeadWorkflow`` only.

Sequences are child workflows started with ``ParentClosePolicy.ABANDON`` and always reached
through external handles by workflow id, so the link survives the lead's continue-as-new:
the lead forwards events and snapshots, the sequence reports emails and its end by signal.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import FailureError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from nurture.domain.lead.enrolments import (
        drop_start,
        due_starts,
        end_enrolment,
        start_enrolment,
    )
    from nurture.domain.lead.facts import LeadFacts, lead_snapshot
    from nurture.domain.lead.state import Enrolment, LeadState, PlannedStart
    from nurture.domain.models import FormContext, LeadEvent
    from nurture.domain.sequences.models import LeadSnapshot, SequenceInput, sequence_workflow_id
    from nurture.domain.sequences.rules import (
        EnrolmentRule,
        choose_enrolment,
        must_stop,
        next_enrolment_check,
        stages_of,
    )
    from workflows import search_attributes

from workflows import priorities
from workflows.sequence import SequenceWorkflow
from workflows.sequences import Sequence, latest

__all__ = ["SequenceManager"]


class SequenceManager:
    """Starts, feeds and stops one lead's sequences according to the enrolment rules."""

    def __init__(self, rules: tuple[EnrolmentRule, ...]) -> None:
        self._rules = rules
        self._to_forward: list[LeadEvent] = []
        self._last_snapshot: dict[str, LeadSnapshot] = {}

    def forward(self, event: LeadEvent) -> None:
        """Queue an event for the running sequences (sent at the next :meth:`manage`)."""
        self._to_forward.append(event)

    async def manage(self, state: LeadState, facts: LeadFacts) -> LeadState:
        """Feed or stop the active sequence, then enter a new one if a rule says so."""
        snapshot = lead_snapshot(state, facts)
        active = state.active_enrolment()
        if active is not None:
            reason = must_stop(facts, stages_of(self._rules, active.sequence))
            if reason:
                state = await self._stop(state, active, reason)
                active = None
            else:
                await self._feed(active, snapshot)
        for companion in state.running_alongside():
            await self._feed(companion, snapshot)
        self._to_forward.clear()
        rule = choose_enrolment(self._rules, facts, state.enrolments, active, workflow.now())
        if rule is None:
            return state
        if active is not None:
            state = await self._stop(state, active, f"replaced by {rule.sequence}")
        return await self._start(state, facts, rule)

    async def start_due(self, state: LeadState, facts: LeadFacts) -> LeadState:
        """Start the planned sequences whose time has come (a welcome after a new form)."""
        for start in due_starts(state, workflow.now()):
            try:
                cls = latest(start.sequence)
            except KeyError as exc:
                workflow.logger.warning("planned start names no sequence: %s", exc)
                state = drop_start(state, start)
                continue
            snapshot = lead_snapshot(state, facts)
            state = await self._launch(
                state, snapshot, cls, 0, form=start.form, alongside=True, start=start
            )
        return state

    def next_check(self, state: LeadState, facts: LeadFacts) -> datetime | None:
        """When to look again even if nothing happens (inactivity, re-entry delays)."""
        return next_enrolment_check(self._rules, facts, state.enrolments, workflow.now())

    async def _feed(self, active: Enrolment, snapshot: LeadSnapshot) -> None:
        handle = workflow.get_external_workflow_handle(active.workflow_id)
        # A sequence that just finished cannot take signals; its end signal is on its way.
        with contextlib.suppress(FailureError):
            for event in self._to_forward:
                await handle.signal(SequenceWorkflow.event_received, event)
            if snapshot != self._last_snapshot.get(active.workflow_id):
                await handle.signal(SequenceWorkflow.lead_updated, snapshot)
                self._last_snapshot[active.workflow_id] = snapshot

    async def _stop(self, state: LeadState, active: Enrolment, reason: str) -> LeadState:
        # The sequence may have ended on its own meanwhile; its end signal is on its way.
        with contextlib.suppress(FailureError):
            await workflow.get_external_workflow_handle(active.workflow_id).cancel()
        self._to_forward.clear()
        return end_enrolment(state, active.workflow_id, "stopped", reason, workflow.now())

    async def _start(self, state: LeadState, facts: LeadFacts, rule: EnrolmentRule) -> LeadState:
        try:
            cls = latest(rule.sequence)
        except KeyError as exc:
            workflow.logger.warning("enrolment rule names no sequence: %s", exc)
            return state
        return await self._launch(
            state, lead_snapshot(state, facts), cls, rule.priority, stages=rule.stages
        )

    async def _launch(
        self,
        state: LeadState,
        snapshot: LeadSnapshot,
        cls: type[Sequence],
        priority: int,
        *,
        stages: tuple[str, ...] | None = None,
        form: FormContext | None = None,
        alongside: bool = False,
        start: PlannedStart | None = None,
    ) -> LeadState:
        number = state.next_enrolment_number(cls.name)
        workflow_id = sequence_workflow_id(state.lead_id, cls.name, number)
        inp = SequenceInput(
            name=cls.name, version=cls.version, enrolment=number, lead=snapshot, form=form
        )
        if stages is not None:
            inp = inp.model_copy(update={"stages": tuple(stages)})
        child = await workflow.start_child_workflow(
            SequenceWorkflow.run,
            inp,
            id=workflow_id,
            parent_close_policy=ParentClosePolicy.ABANDON,
            priority=priorities.SEQUENCE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search_attributes.SEQUENCE, cls.name),
                    SearchAttributePair(search_attributes.SEQUENCE_VERSION, cls.version),
                ]
            ),
            static_summary=f"{cls.name} v{cls.version} for lead {state.lead_id}",
        )
        # The sequence reports its end by signal (which survives our continue-as-new), so the
        # handle's own result, a cancellation error when we stop it, is consumed here.
        child.add_done_callback(_consume)
        self._last_snapshot[workflow_id] = snapshot
        enrolment = Enrolment(
            sequence=cls.name,
            version=cls.version,
            number=number,
            priority=priority,
            workflow_id=workflow_id,
            started_at=workflow.now(),
            alongside=alongside,
        )
        if start is not None:
            state = drop_start(state, start)
        return start_enrolment(state, enrolment)


def _consume(child: workflow.ChildWorkflowHandle[Any, Any]) -> None:
    if not child.cancelled():
        child.exception()
