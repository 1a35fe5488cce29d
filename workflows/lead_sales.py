"""How a LeadWorkflow hands its lead to sales: route, alert, remind, escalate, release.

Used by ``LeadWorkflow`` only. The decisions are pure (``nurture.domain.sales.handoff``); this class
performs their effects through activities: the router (``assign_owner``, ``claim_owner``,
``release_owner``),
the alert emails (``send_email``, transactional, to the rep or manager) and the webhook.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from nurture.domain.emails import (
        EmailKind,
        SalesLink,
        SendEmailInput,
        idempotency_key,
        lead_context,
    )
    from nurture.domain.lead.facts import LeadFacts
    from nurture.domain.lead.state import LeadState
    from nurture.domain.sales import handoff
    from nurture.domain.sales.records import Assignment, HandOff, webhook_message
    from nurture.domain.sales.router import AssignRequest, ClaimRequest, ReleaseRequest
    from nurture.domain.sales.routing import RoutingLead, SalesTeam
    from nurture.domain.schedule import add_business_time, zone_named

from workflows.activities import assign_owner, claim_owner, notify_webhook, release_owner
from workflows.mail import send_email

__all__ = ["SalesDesk"]

_ACTIVITY = timedelta(seconds=30)


class SalesDesk:
    """One lead's side of the hand-off, driven by the lead's loop."""

    def __init__(self, team: SalesTeam) -> None:
        self.team = team

    def next_deadline(self, state: LeadState) -> datetime | None:
        """The reminder or the acceptance deadline of the hand-off in progress."""
        return handoff.sla_next_deadline(state)

    async def manage(self, state: LeadState, facts: LeadFacts) -> LeadState:
        """Start, route and follow up the hand-off as the state calls for."""
        now = workflow.now()
        trigger = handoff.needs_handoff(state)
        if trigger:
            state = handoff.begin_handoff(state, trigger, now)
        current = handoff.current_handoff(state)
        if current is None or current.accepted_at is not None:
            return state
        if not current.routed:
            return await self._route(state, facts, current)
        if current.owner is None:
            return state
        if current.accept_by is not None and now >= current.accept_by:
            return await self._escalate(state, facts, current)
        if not current.reminded and current.remind_at is not None and now >= current.remind_at:
            state = await self._mail(
                state,
                facts,
                current,
                "sales_reminder",
                current.owner_email,
                current.owner_name,
                rep_id=current.owner,
            )
            return handoff.record_reminder(state, now)
        return state

    async def tell_router(self, before: LeadState, after: LeadState) -> None:
        """Tell the router what sales did since ``before``: a rep who took the lead from
        the pool has one more open lead; a closed hand-off gives its owner room again.
        (Both may come in one batch: the claim goes first, so the release balances it.)"""
        for old, new in zip(before.handoffs, after.handoffs, strict=False):
            if old.owner is None and new.owner and new.accepted_at:
                await self._claim(new, new.owner)
            if old.ended_at is None and new.ended_at is not None and new.owner:
                await self._release(new, new.owner)

    async def _route(self, state: LeadState, facts: LeadFacts, current: HandOff) -> LeadState:
        lead = state.lead
        request = AssignRequest(
            key=f"{state.lead_id}/handoff-{current.number}/{current.reassignments}",
            lead=RoutingLead(
                lead_id=state.lead_id,
                country=lead.country if lead else None,
                industry=lead.industry if lead else None,
                company_size=lead.company_size if lead else None,
                grade=facts.grade.value,
            ),
            exclude=current.passed_over,
        )
        assignment = await workflow.execute_activity(
            assign_owner,
            request,
            start_to_close_timeout=_ACTIVITY,
            summary=f"route hand-off {current.number}",
        )
        now = workflow.now()
        state = handoff.record_assignment(state, assignment, now)
        current = handoff.current_handoff(state)  # type: ignore[assignment]
        if assignment.rep_id is None:
            state = await self._mail(state, facts, current, "sales_pool", assignment.manager_email)
        else:
            rep = self.team.rep(assignment.rep_id)
            zone = zone_named(rep.timezone) if rep else zone_named("UTC")
            sla = self.team.sla
            state = handoff.sla_deadline(
                state,
                remind_at=add_business_time(now, sla.remind_after, zone, self.team.hours),
                accept_by=add_business_time(now, sla.accept_within, zone, self.team.hours),
            )
            current = handoff.current_handoff(state)  # type: ignore[assignment]
            state = await self._mail(
                state,
                facts,
                current,
                "sales_alert",
                assignment.rep_email,
                assignment.rep_name,
                rep_id=assignment.rep_id,
            )
        await self._webhook(state, facts, current)
        return state

    async def _escalate(self, state: LeadState, facts: LeadFacts, current: HandOff) -> LeadState:
        now = workflow.now()
        escalation = self.team.sla.escalation
        late = current.owner_name or current.owner or "the owner"
        reassign = escalation.reassign and current.reassignments < self.team.sla.max_reassignments
        next_step = "reassigning" if reassign else "to the pool"
        detail = f"{late} did not accept by {current.accept_by:%Y-%m-%d %H:%M} UTC; {next_step}"
        if escalation.notify_manager:
            manager = current.manager_email or str(self.team.manager)
            state = await self._mail(state, facts, current, "sales_escalation", manager)
        if current.owner:
            await self._release(current, current.owner)
        state = handoff.record_escalation(state, now, detail)
        if reassign:
            return await self._route(state, facts, handoff.current_handoff(state))  # type: ignore[arg-type]
        pool = Assignment(rep_id=None, manager_email=str(self.team.manager), reason=detail)
        return handoff.record_assignment(state, pool, now, cause="sla lapsed")

    async def _claim(self, current: HandOff, rep_id: str) -> None:
        await workflow.execute_activity(
            claim_owner,
            ClaimRequest(
                key=f"{workflow.info().workflow_id}/{current.number}/claim/{rep_id}",
                rep_id=rep_id,
            ),
            start_to_close_timeout=_ACTIVITY,
        )

    async def _release(self, current: HandOff, rep_id: str) -> None:
        await workflow.execute_activity(
            release_owner,
            ReleaseRequest(
                key=f"{workflow.info().workflow_id}/{current.number}/{rep_id}", rep_id=rep_id
            ),
            start_to_close_timeout=_ACTIVITY,
        )

    def _summary(self, state: LeadState, facts: LeadFacts, current: HandOff) -> dict[str, Any]:
        """What the alert email and the webhook show about the lead."""
        lead = state.lead
        return {
            "lead_id": state.lead_id,
            "email": lead.email if lead else "",
            "name": (lead.full_name if lead else None) or state.lead_id,
            "company": lead.company if lead else None,
            "owner": current.owner_name or current.owner,
            "trigger": current.trigger,
            "score": facts.score,
            "grade": facts.grade.value,
            "buying_stage": facts.buying_stage,
            "explanation": [{"label": ln.label, "points": ln.points} for ln in state.score.lines],
            "recent": [
                {"at": t.at.strftime("%Y-%m-%d %H:%M"), "what": t.reason}
                for t in state.transitions[-5:]
            ],
            "accept_by": current.accept_by.strftime("%Y-%m-%d %H:%M UTC")
            if current.accept_by
            else None,
            "link": f"{str(self.team.app_url).rstrip('/')}/v1/leads/{state.lead_id}",
        }

    async def _mail(
        self,
        state: LeadState,
        facts: LeadFacts,
        current: HandOff,
        template: str,
        to: str | None,
        to_name: str | None = None,
        rep_id: str | None = None,
    ) -> LeadState:
        """Mail sales (the rep ``rep_id``, else the manager); one that cannot be delivered is
        in the sales log, and the hand-off goes on (reminder, escalation, the pool) while an
        operator fixes the address."""
        if to is None:
            return state
        lead = state.lead
        key = idempotency_key(
            state.lead_id,
            f"handoff-{current.number}",
            template,
            current.reassignments + 1,
        )
        context = {"lead": lead_context(lead), "sales": self._summary(state, facts, current)}
        record = await send_email(
            SendEmailInput(
                key=key,
                lead_id=state.lead_id,
                to_email=to,
                to_name=to_name,
                locale=state.locale,
                template=template,
                kind=EmailKind.TRANSACTIONAL,
                context=context,
                sales_link=SalesLink(rep_id=rep_id, app_url=str(self.team.app_url)),
            ),
            f"{template} to sales",
        )
        if record.status == "sent":
            return state
        workflow.logger.error("%s to %s was not sent: %s", template, to, record.detail)
        return handoff.record_undelivered(state, workflow.now(), f"{template} to {to}", record)

    async def _webhook(self, state: LeadState, facts: LeadFacts, current: HandOff) -> None:
        if self.team.webhook_url is None:
            return
        await workflow.execute_activity(
            notify_webhook,
            webhook_message(self._summary(state, facts, current)).model_copy(
                update={"lead_id": state.lead_id, "app_url": str(self.team.app_url)}
            ),
            start_to_close_timeout=_ACTIVITY,
            summary="webhook",
        )
