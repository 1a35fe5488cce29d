"""Double opt-in: a form post held until the address confirms, the confirmation link
mailed (a few times at most), and posts nobody confirmed dropped when they expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from nurture.domain.emails import CONFIRM_TEMPLATE, ConfirmLink, EmailKind, idempotency_key
from nurture.domain.lead.messages import OptInConfirmed
from nurture.domain.lead.state import (
    CONSENTS_KEPT,
    LeadState,
    PendingOptIn,
    PlannedEmail,
    add_condition,
    lift_condition,
    remember,
)
from nurture.domain.lifecycle import Condition
from nurture.domain.models import FormSubmitted

__all__ = [
    "CONFIRMATIONS_PER_REQUEST",
    "CONFIRMATION_RESEND_AFTER",
    "drop_unconfirmed",
    "expire_opt_ins",
    "hold_for_confirmation",
    "take_confirmation",
]

CONFIRMATIONS_PER_REQUEST = 3
"""Confirmation emails at most while a double opt-in waits: re-posting the form resends
the link, but nobody can use a form to flood an address they do not own."""
CONFIRMATION_RESEND_AFTER = timedelta(minutes=10)
"""A re-posted form resends the confirmation only this long after the previous one."""


def hold_for_confirmation(state: LeadState, form: FormSubmitted, now: datetime) -> LeadState:
    """Keep a double opt-in post aside and mail the confirmation link. A lead known from
    nothing else becomes ``unconfirmed``: its address is kept only to send the link."""
    held = PendingOptIn(form=form, expires_at=now + form.confirm_within)
    others = tuple(p for p in state.unconfirmed if p.form.form_id != form.form_id)
    state = state.model_copy(
        update={
            "unconfirmed": (*others, held),
            "seen_events": remember(state.seen_events, f"form:{form.submission_id}"),
            "consents": (*state.consents, form.lead.consent)[-CONSENTS_KEPT:],
        }
    )
    if state.lead is None:
        state = state.model_copy(
            update={"lead": form.lead, "locale": form.locale, "created_at": now}
        )
        reason = f"double opt-in form '{form.form_id}': waiting for the address to confirm"
        state = add_condition(state, Condition.UNCONFIRMED, now, reason, "double opt-in")
    sent = state.confirmations_sent
    if len(sent) >= CONFIRMATIONS_PER_REQUEST or (
        sent and now - sent[-1] < CONFIRMATION_RESEND_AFTER
    ):
        return state
    confirmation = PlannedEmail(
        key=idempotency_key(state.lead_id, f"opt-in-{form.submission_id}", "confirm"),
        template=CONFIRM_TEMPLATE,
        kind=EmailKind.TRANSACTIONAL,
        due_at=now,
        context={
            **form.context().template_context(),
            "valid_days": max(1, form.confirm_within.days),
        },
        confirm=ConfirmLink(submission_id=form.submission_id, expires_at=held.expires_at),
    )
    return state.model_copy(
        update={"planned": (*state.planned, confirmation), "confirmations_sent": (*sent, now)}
    )


def take_confirmation(
    state: LeadState, confirmed: OptInConfirmed
) -> tuple[LeadState, list[FormSubmitted]]:
    """The address confirmed: nothing waits any more, and the posts that waited come back,
    in the order they were posted, with the confirmation recorded in their consent (for
    the journey to apply them). A repeat, or a confirmation after the posts expired,
    gives none back."""
    waiting = state.held_forms()
    state = state.model_copy(
        update={
            "unconfirmed": (),
            "confirmations_sent": (),
            "seen_events": remember(state.seen_events, f"confirm:{confirmed.submission_id}"),
            # Planned confirmations not sent yet have nothing left to confirm.
            "planned": tuple(p for p in state.planned if p.confirm is None),
        }
    )
    if not waiting:
        return state, []
    reason = f"double opt-in confirmed from the link ({confirmed.submission_id})"
    state = drop_unconfirmed(state, confirmed.at, reason, "confirmed")
    return state, [_confirmed(form, confirmed) for form in waiting]


def _confirmed(held: FormSubmitted, confirmed: OptInConfirmed) -> FormSubmitted:
    consent = held.lead.consent.model_copy(
        update={
            "confirmed_at": confirmed.at,
            "confirmed_ip": confirmed.ip,
            "confirmed_user_agent": confirmed.user_agent,
        }
    )
    return held.model_copy(update={"lead": held.lead.model_copy(update={"consent": consent})})


def drop_unconfirmed(state: LeadState, at: datetime, reason: str, cause: str) -> LeadState:
    """The lead is a lead in its own right now: no longer ``unconfirmed``."""
    return lift_condition(state, Condition.UNCONFIRMED, at, reason, cause, "confirmed")


def expire_opt_ins(state: LeadState, now: datetime) -> tuple[LeadState, bool]:
    """Drop the double opt-in posts left unconfirmed past their expiry. True when the lead
    is thereby gone: known from nothing but unconfirmed posts, it must be forgotten."""
    kept = tuple(p for p in state.unconfirmed if p.expires_at > now)
    if len(kept) == len(state.unconfirmed):
        return state, False
    state = state.model_copy(
        update={"unconfirmed": kept, "confirmations_sent": state.confirmations_sent if kept else ()}
    )
    return state, not kept and Condition.UNCONFIRMED in state.conditions
