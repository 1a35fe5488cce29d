"""A lead's journey as a pure state machine: ``apply`` takes one message and returns the
new state, with what the workflow must do next as data. ``LeadWorkflow`` performs it.

Nothing here knows about Temporal: time comes in the context, effects go out as data.
"""

from __future__ import annotations

from datetime import datetime
from typing import assert_never

from pydantic import AwareDatetime, BaseModel, ConfigDict

from nurture.domain.emails import EmailKind, idempotency_key
from nurture.domain.lead.engagement import (
    apply_event,
    apply_score,
    next_silence_check,
    note_activity,
)
from nurture.domain.lead.enrolments import end_enrolment, record_progress
from nurture.domain.lead.imports import acted, apply_import, consent_from_form
from nurture.domain.lead.mail_plan import record_email
from nurture.domain.lead.messages import (
    AddressBounced,
    EventReceived,
    FormPosted,
    Inbound,
    LeadImported,
    OptInConfirmed,
    OptOut,
    SalesActed,
    SequenceEmailed,
    SequenceEnded,
    SequenceMoved,
)
from nurture.domain.lead.opt_in import drop_unconfirmed, hold_for_confirmation, take_confirmation
from nurture.domain.lead.opt_out import apply_bounce, apply_opt_out
from nurture.domain.lead.state import (
    CONSENTS_KEPT,
    LeadOrigin,
    LeadState,
    PlannedEmail,
    PlannedStart,
    remember,
)
from nurture.domain.models import FormSubmitted, LeadEvent
from nurture.domain.sales import handoff
from nurture.domain.sales.records import SalesAction
from nurture.domain.scoring import ScoringModel, apply_profile
from nurture.domain.tracking import machine_reason

__all__ = [
    "WELCOME_SEQUENCE",
    "Applied",
    "ApplyContext",
    "apply",
    "apply_confirmation",
    "apply_submission",
    "next_deadline",
]

WELCOME_SEQUENCE = "welcome"
"""The sequence each form new to a lead starts after the form's delay: it sends the
form's related content (its second conversion)."""


class ApplyContext(BaseModel):
    """What applying a message needs besides the state: the rules, and the moment."""

    model_config = ConfigDict(frozen=True)

    model: ScoringModel
    now: AwareDatetime
    hand_raise_events: tuple[str, ...] = ()
    """Event types that make a marketing lead an SQL at once (a demo request)."""
    return_points: int = 0
    """The score adjustment of a lead sales returns to nurture."""


class Applied(BaseModel):
    """A message applied: the new state and what the workflow must do about it."""

    model_config = ConfigDict(frozen=True)

    state: LeadState
    forward: tuple[LeadEvent, ...] = ()
    """Behaviour the lead's running sequences must hear of (their goals, their waits)."""
    refused: str | None = None
    """Why a sales action was refused, for the update that asked; ``None`` otherwise."""


def apply(state: LeadState, message: Inbound, context: ApplyContext) -> Applied:
    """What ``message`` does to the lead."""
    model, now = context.model, context.now
    match message:
        case FormPosted(form=form):
            state = apply_submission(state, form, model, now)
            held = {p.form.submission_id for p in state.unconfirmed}
            if form.submission_id not in held:  # an import's limits end with a real post
                state = consent_from_form(state, form.lead.consent, now)
                state = acted(state, now, f"form {form.form_id}")
            events = [] if form.submission_id in held else [form.as_event()]
            return _behaviour(state, events, context)
        case OptInConfirmed():
            waiting = state.held_forms()
            state = apply_confirmation(state, message, model, now)
            if waiting and state.lead is not None:
                state = consent_from_form(state, state.lead.consent, now)
                state = acted(state, now, "opt-in confirmed")
            return _behaviour(state, [form.as_event() for form in waiting], context)
        case EventReceived(event=event):
            state = apply_event(state, event, model, now)
            if state.lead is not None and not machine_reason(event):
                state = acted(state, now, f"event {event.type}")
            return _behaviour(state, [event], context)
        case LeadImported(row=row):
            return Applied(state=apply_import(state, row, message.id, model, now))
        case SequenceEmailed(record=record):
            return Applied(state=record_email(state, record))
        case SequenceEnded(outcome=end):
            ended = end_enrolment(state, end.workflow_id, end.result, end.detail, end.ended_at)
            return Applied(state=ended)
        case SequenceMoved(progress=step):
            moved = record_progress(
                state, step.workflow_id, step.step, step.next_touch_at, step.variants
            )
            return Applied(state=moved)
        case SalesActed(action=action):
            return _sales_action(state, action, context)
        case OptOut():
            return Applied(state=apply_opt_out(state, message))
        case AddressBounced():
            return Applied(state=apply_bounce(state, message))
    assert_never(message)


def _behaviour(state: LeadState, events: list[LeadEvent], context: ApplyContext) -> Applied:
    """Events the lead produced: a hand-raise makes it an SQL; sequences hear of each. A
    machine-made open or click is nobody's: it raises no hand and no sequence hears of
    it (no goal reached, no ``wait_for`` answered)."""
    people = [event for event in events if not machine_reason(event)]
    for event in people:
        if event.type in context.hand_raise_events:
            state = handoff.hand_raise(state, event.type, context.now)
    return Applied(state=state, forward=tuple(people))


def _sales_action(state: LeadState, action: SalesAction, context: ApplyContext) -> Applied:
    refused = handoff.why_not(state, action)
    if refused is None:
        state = handoff.apply_action(
            state, action, context.model, context.now, context.return_points
        )
    return Applied(state=state, refused=refused)


def apply_submission(
    state: LeadState, form: FormSubmitted, model: ScoringModel, now: datetime
) -> LeadState:
    """A form post: update the profile, score, and for a form new to this lead, plan the
    thank-you at once and, after the form's delay, the start of the ``welcome`` sequence
    that sends its second conversion. A form that scored less than its ``rescore_after``
    ago is activity only: re-posting adds no points.

    A double opt-in form's post, unless the address already confirmed, only waits for its
    confirmation (:func:`apply_confirmation`) and plans the confirmation email."""
    if form.double_opt_in and not form.lead.consent.confirmed and not state.confirmed:
        return hold_for_confirmation(state, form, now)
    lead = state.lead.merged_with(form.lead) if state.lead else form.lead
    if state.lead is not None and state.lead.consent.confirmed and not lead.consent.confirmed:
        lead = lead.model_copy(update={"consent": state.lead.consent})
    if form.lead.consent.marketing:
        consents = (*state.consents, form.lead.consent)[-CONSENTS_KEPT:]
        state = state.model_copy(update={"consents": consents})
    # A form that needs no confirmation makes the lead a lead in its own right.
    reason = f"form '{form.form_id}' needs no confirmation"
    state = drop_unconfirmed(state, now, reason, "form without opt-in")
    origin = state.origin or LeadOrigin(
        source=lead.source.value,
        form=form.form_id,
        utm=lead.utm,
        locale=form.locale,
        country=lead.country,
    )
    state = state.model_copy(
        update={
            "lead": lead,
            "origin": origin,
            "locale": form.locale,
            "created_at": state.created_at or now,
            "seen_events": remember(state.seen_events, f"form:{form.submission_id}"),
        }
    )
    if form.form_id not in state.forms:
        state = _welcome(state, form, now)
    state = apply_score(state, apply_profile(model, state.score, lead), model, now, "profile")
    posted = min(form.submitted_at, now)
    last = state.forms_scored.get(form.form_id)
    if last is not None and posted - last < form.rescore_after:
        # The same form again, soon: activity, but no points (re-posting inflated scores).
        return note_activity(state, form.as_event(), now)
    scored = {**state.forms_scored, form.form_id: posted}
    state = state.model_copy(update={"forms_scored": scored})
    return apply_event(state, form.as_event(), model, now)


def _welcome(state: LeadState, form: FormSubmitted, now: datetime) -> LeadState:
    """A form new to the lead: its thank-you now, its welcome sequence after its delay."""
    thank_you = PlannedEmail(
        key=idempotency_key(state.lead_id, f"form-{form.form_id}", "thank_you"),
        template="thank_you",
        kind=EmailKind.TRANSACTIONAL,
        due_at=now,
        context=form.context().template_context(),
    )
    welcome = PlannedStart(
        sequence=WELCOME_SEQUENCE, due_at=now + form.second_conversion_delay, form=form.context()
    )
    return state.model_copy(
        update={
            "forms": (*state.forms, form.form_id),
            "planned": (*state.planned, thank_you),
            "starts": (*state.starts, welcome),
        }
    )


def apply_confirmation(
    state: LeadState, confirmed: OptInConfirmed, model: ScoringModel, now: datetime
) -> LeadState:
    """The address confirmed: every waiting double opt-in post takes effect now, in the
    order they were posted, with the confirmation recorded in its consent. A repeat, or a
    confirmation after the posts expired, changes nothing."""
    state, forms = take_confirmation(state, confirmed)
    for form in forms:
        state = apply_submission(state, form, model, now)
    return state


def next_deadline(state: LeadState, model: ScoringModel) -> datetime | None:
    """The earliest moment the journey has something to do on its own."""
    moments = [p.due_at for p in state.planned] + [s.due_at for s in state.starts]
    moments += [p.expires_at for p in state.unconfirmed]
    silence = next_silence_check(state, model)
    if silence is not None:
        moments.append(silence)
    return min(moments, default=None)
