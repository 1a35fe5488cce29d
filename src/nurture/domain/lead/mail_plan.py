"""The lead's own email: what is due, whether it may go, what the send activity gets, and
what became of it."""

from __future__ import annotations

from datetime import datetime

from nurture.domain.emails import EmailKind, SendEmailInput, lead_context
from nurture.domain.lead.state import EmailRecord, LeadState, PlannedEmail, add_condition
from nurture.domain.lifecycle import Condition, why_not_mail

__all__ = ["due_emails", "record_email", "send_input", "why_not_send"]


def due_emails(state: LeadState, now: datetime) -> list[PlannedEmail]:
    """Planned emails whose time has come, earliest first."""
    return sorted((p for p in state.planned if p.due_at <= now), key=lambda p: p.due_at)


def why_not_send(state: LeadState, email: PlannedEmail) -> str | None:
    """The reason an email must not go out now, or ``None`` when it may."""
    return why_not_mail(email.kind is EmailKind.MARKETING, state.stage, state.conditions)


def send_input(state: LeadState, email: PlannedEmail) -> SendEmailInput:
    """The activity input for a planned email."""
    if state.lead is None:
        raise ValueError(f"lead {state.lead_id} has no profile to email")
    return SendEmailInput(
        key=email.key,
        lead_id=state.lead_id,
        to_email=state.lead.email,
        to_name=state.lead.full_name,
        locale=state.locale,
        template=email.template,
        kind=email.kind,
        context={"lead": lead_context(state.lead), **email.context},
        confirm=email.confirm,
        track=email.kind is EmailKind.MARKETING and state.lead.consent.marketing,
    )


def record_email(state: LeadState, record: EmailRecord) -> LeadState:
    """Note what became of a planned email; a bounce marks the address bounced.

    A report already noted (same key, same status) changes nothing.
    """
    if any(r.key == record.key and r.status == record.status for r in state.emails):
        return state
    planned = tuple(p for p in state.planned if p.key != record.key)
    state = state.model_copy(update={"planned": planned, "emails": (*state.emails, record)})
    if record.status != "bounced":
        return state
    reason = record.detail or "permanent SMTP failure"
    return add_condition(state, Condition.BOUNCED, record.at, reason, "send bounced")
