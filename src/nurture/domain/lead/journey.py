"""A lead's journey as a pure state machine: what each submission, event, silence or email
result does to the lead's state. ``LeadWorkflow`` calls these and performs the effects.

Nothing here knows about Temporal: time is passed in, effects are returned as data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from nurture.domain.emails import (
    CONFIRM_TEMPLATE,
    ConfirmLink,
    EmailKind,
    SendEmailInput,
    idempotency_key,
    lead_context,
)
from nurture.domain.lifecycle import Condition, Stage, check_transition, qualify, why_not_mail
from nurture.domain.models import Consent, FormContext, FormSubmitted, Lead, LeadEvent
from nurture.domain.sales.records import HandOff, SalesEntry
from nurture.domain.scoring import (
    Score,
    ScoreUpdate,
    ScoringModel,
    apply_inactivity,
    apply_profile,
    initial_score,
    score_event,
)
from nurture.domain.sequences.enrolment import Enrolment

__all__ = [
    "CONFIRMATIONS_PER_REQUEST",
    "CONFIRMATION_RESEND_AFTER",
    "SEEN_EVENTS_KEPT",
    "EmailRecord",
    "LeadState",
    "OptInConfirmed",
    "OptOut",
    "PendingOptIn",
    "PlannedEmail",
    "PlannedStart",
    "Transition",
    "apply_confirmation",
    "apply_event",
    "apply_opt_out",
    "apply_silence",
    "apply_submission",
    "drop_start",
    "due_emails",
    "due_starts",
    "end_enrolment",
    "expire_opt_ins",
    "next_deadline",
    "next_silence_check",
    "record_email",
    "record_progress",
    "send_input",
    "start_enrolment",
    "start_state",
    "why_not_send",
]

SEEN_EVENTS_KEPT = 1000
"""Event ids remembered for deduplication; older ids fall off (retries come within minutes)."""
CONFIRMATIONS_PER_REQUEST = 3
"""Confirmation emails at most while a double opt-in waits: re-posting the form resends
the link, but nobody can use a form to flood an address they do not own."""
CONFIRMATION_RESEND_AFTER = timedelta(minutes=10)
"""A re-posted form resends the confirmation only this long after the previous one."""
CONSENTS_KEPT = 50
_FROZEN = ConfigDict(frozen=True)


class Transition(BaseModel):
    """A change of lifecycle stage or buying stage, and why."""

    model_config = _FROZEN

    field: Literal["stage", "buying_stage", "condition"]
    from_value: str | None
    to_value: str
    at: AwareDatetime
    reason: str


class PlannedEmail(BaseModel):
    """An email the journey decided to send at ``due_at``."""

    model_config = _FROZEN

    key: str
    template: str
    kind: EmailKind
    due_at: AwareDatetime
    context: dict[str, Any] = {}
    confirm: ConfirmLink | None = None
    """Set on a double opt-in confirmation: the link it must carry."""


class PendingOptIn(BaseModel):
    """A double opt-in form post waiting for the address to confirm; it takes effect then,
    and is dropped at ``expires_at``."""

    model_config = _FROZEN

    form: FormSubmitted
    expires_at: AwareDatetime


class OptInConfirmed(BaseModel):
    """The person confirmed from the link mailed to the address (the evidence kept)."""

    model_config = _FROZEN

    submission_id: str
    """The submission whose link was used; every pending submission is confirmed."""
    at: AwareDatetime
    ip: str | None = None
    user_agent: str | None = None


class PlannedStart(BaseModel):
    """A sequence the lead will start at ``due_at``: the welcome after a new form's delay."""

    model_config = _FROZEN

    sequence: str
    due_at: AwareDatetime
    form: FormContext


class EmailRecord(BaseModel):
    """What became of a planned email."""

    model_config = _FROZEN

    key: str
    template: str
    kind: EmailKind
    status: Literal["sent", "bounced", "skipped", "failed"]
    at: AwareDatetime
    message_id: str | None = None
    detail: str | None = None


class LeadState(BaseModel):
    """Everything a lead's workflow knows; carried intact through continue-as-new."""

    model_config = _FROZEN

    lead_id: str
    lead: Lead | None = None
    locale: str = "en"
    stage: Stage = Stage.NEW
    conditions: tuple[Condition, ...] = ()
    score: Score
    created_at: AwareDatetime | None = None
    last_activity_at: AwareDatetime | None = None
    silent_periods: int = 0
    forms: tuple[str, ...] = ()
    transitions: tuple[Transition, ...] = ()
    planned: tuple[PlannedEmail, ...] = ()
    starts: tuple[PlannedStart, ...] = ()
    emails: tuple[EmailRecord, ...] = ()
    seen_events: tuple[str, ...] = ()
    enrolments: tuple[Enrolment, ...] = ()
    handoffs: tuple[HandOff, ...] = ()
    sales_log: tuple[SalesEntry, ...] = ()
    """Every hand-off, assignment, reminder, escalation and sales action, with its actor."""
    recycle_reason: str | None = None
    """Why sales last returned the lead (budget, authority, need, timing...)."""
    revisit_after: AwareDatetime | None = None
    """Sales asked for no new hand-off before this moment."""
    points_since_return: int = 0
    """Behaviour points earned while recycled, since sales last returned the lead (or lost
    its deal): it stays recycled until they reach ``thresholds.requalify_points``."""
    forms_scored: dict[str, AwareDatetime] = {}
    """When each form last scored for this lead: a re-post within the form's
    ``rescore_after`` of it scores nothing."""
    applied_actions: tuple[str, ...] = ()
    """Ids of sales actions already applied (retries apply once)."""
    unconfirmed: tuple[PendingOptIn, ...] = ()
    """Double opt-in form posts waiting for confirmation."""
    confirmations_sent: tuple[AwareDatetime, ...] = ()
    """When confirmation emails were planned while the current ones wait."""
    consents: tuple[Consent, ...] = ()
    """Every consent given (capture, then confirmation), oldest first: the evidence."""

    def held_forms(self) -> list[FormSubmitted]:
        """The double opt-in posts waiting for confirmation, in the order they came."""
        return sorted((p.form for p in self.unconfirmed), key=lambda f: f.submitted_at)

    @property
    def confirmed(self) -> bool:
        """True once the lead confirmed an address by double opt-in."""
        return self.lead is not None and self.lead.consent.confirmed

    def active_enrolment(self) -> Enrolment | None:
        """The rule-driven sequence the lead is in now, if any (at most one)."""
        return next(
            (e for e in reversed(self.enrolments) if e.ended_at is None and not e.alongside),
            None,
        )

    def running_alongside(self) -> list[Enrolment]:
        """Sequences running beside the rule-driven one (a welcome per new form)."""
        return [e for e in self.enrolments if e.ended_at is None and e.alongside]

    def has_seen(self, event_id: str) -> bool:
        """True when an event with this id was already applied."""
        return event_id in self.seen_events


def start_state(lead_id: str, model: ScoringModel) -> LeadState:
    """The state of a lead nobody has heard from yet."""
    return LeadState(lead_id=lead_id, score=initial_score(model))


def apply_submission(
    state: LeadState,
    form: FormSubmitted,
    model: ScoringModel,
    now: datetime,
    *,
    welcome_sequence: bool = False,
) -> LeadState:
    """A form post: update the profile, score, and for a form new to this lead, plan the
    thank-you at once and, after the form's delay, the second conversion, or with
    ``welcome_sequence`` the start of the ``welcome`` sequence that sends it. A form that
    scored less than its ``rescore_after`` ago is activity only: re-posting adds no points.

    A double opt-in form's post, unless the address already confirmed, only waits for its
    confirmation (:func:`apply_confirmation`) and plans the confirmation email."""
    if form.double_opt_in and not form.lead.consent.confirmed and not state.confirmed:
        return _hold_for_confirmation(state, form, now)
    lead = state.lead.merged_with(form.lead) if state.lead else form.lead
    if state.lead is not None and state.lead.consent.confirmed and not lead.consent.confirmed:
        lead = lead.model_copy(update={"consent": state.lead.consent})
    if form.lead.consent.marketing:
        consents = (*state.consents, form.lead.consent)[-CONSENTS_KEPT:]
        state = state.model_copy(update={"consents": consents})
    # A form that needs no confirmation makes the lead a lead in its own right.
    state = _drop_unconfirmed(state, now, f"form '{form.form_id}' needs no confirmation")
    state = state.model_copy(
        update={
            "lead": lead,
            "locale": form.locale,
            "created_at": state.created_at or now,
            "seen_events": _remember(state.seen_events, f"form:{form.submission_id}"),
        }
    )
    if form.form_id not in state.forms:
        welcome = _welcome_emails(state.lead_id, form, now, not welcome_sequence)
        starts = state.starts
        if welcome_sequence:
            due = now + form.second_conversion_delay
            starts = (*starts, PlannedStart(sequence="welcome", due_at=due, form=form.context()))
        state = state.model_copy(
            update={
                "forms": (*state.forms, form.form_id),
                "planned": (*state.planned, *welcome),
                "starts": starts,
            }
        )
    state = _apply_score(state, apply_profile(model, state.score, lead), model, now, "profile")
    posted = min(form.submitted_at, now)
    last = state.forms_scored.get(form.form_id)
    if last is not None and posted - last < form.rescore_after:
        # The same form again, soon: activity, but no points (re-posting inflated scores).
        return _note_activity(state, form.as_event(), now)
    scored = {**state.forms_scored, form.form_id: posted}
    state = state.model_copy(update={"forms_scored": scored})
    return apply_event(state, form.as_event(), model, now)


def _hold_for_confirmation(state: LeadState, form: FormSubmitted, now: datetime) -> LeadState:
    """Keep a double opt-in post aside and mail the confirmation link. A lead known from
    nothing else becomes ``unconfirmed``: its address is kept only to send the link."""
    held = PendingOptIn(form=form, expires_at=now + form.confirm_within)
    others = tuple(p for p in state.unconfirmed if p.form.form_id != form.form_id)
    state = state.model_copy(
        update={
            "unconfirmed": (*others, held),
            "seen_events": _remember(state.seen_events, f"form:{form.submission_id}"),
            "consents": (*state.consents, form.lead.consent)[-CONSENTS_KEPT:],
        }
    )
    if state.lead is None:
        state = state.model_copy(
            update={"lead": form.lead, "locale": form.locale, "created_at": now}
        )
        reason = f"double opt-in form '{form.form_id}': waiting for the address to confirm"
        state = _add_condition(state, Condition.UNCONFIRMED, now, reason)
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


def apply_confirmation(
    state: LeadState,
    confirmed: OptInConfirmed,
    model: ScoringModel,
    now: datetime,
    *,
    welcome_sequence: bool = False,
) -> LeadState:
    """The address confirmed: every waiting double opt-in post takes effect now, in the
    order they were posted, with the confirmation recorded in its consent. A repeat, or a
    confirmation after the posts expired, changes nothing."""
    waiting = state.held_forms()
    state = state.model_copy(
        update={
            "unconfirmed": (),
            "confirmations_sent": (),
            "seen_events": _remember(state.seen_events, f"confirm:{confirmed.submission_id}"),
            # Planned confirmations not sent yet have nothing left to confirm.
            "planned": tuple(p for p in state.planned if p.confirm is None),
        }
    )
    if not waiting:
        return state
    reason = f"double opt-in confirmed from the link ({confirmed.submission_id})"
    state = _drop_unconfirmed(state, confirmed.at, reason)
    for held in waiting:
        consent = held.lead.consent.model_copy(
            update={
                "confirmed_at": confirmed.at,
                "confirmed_ip": confirmed.ip,
                "confirmed_user_agent": confirmed.user_agent,
            }
        )
        form = held.model_copy(update={"lead": held.lead.model_copy(update={"consent": consent})})
        state = apply_submission(state, form, model, now, welcome_sequence=welcome_sequence)
    return state


def _drop_unconfirmed(state: LeadState, at: datetime, reason: str) -> LeadState:
    if Condition.UNCONFIRMED not in state.conditions:
        return state
    change = Transition(
        field="condition",
        from_value=Condition.UNCONFIRMED,
        to_value="confirmed",
        at=at,
        reason=reason,
    )
    return state.model_copy(
        update={
            "conditions": tuple(c for c in state.conditions if c is not Condition.UNCONFIRMED),
            "transitions": (*state.transitions, change),
        }
    )


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


def apply_event(
    state: LeadState, event: LeadEvent, model: ScoringModel, now: datetime
) -> LeadState:
    """A behavioural event: note the activity, score it, qualify."""
    state = _note_activity(state, event, now)
    update = score_event(model, state.score, event)
    weak = event.type in model.weak_events
    return _apply_score(state, update, model, now, f"event {event.type}", qualify_lead=not weak)


def _note_activity(state: LeadState, event: LeadEvent, now: datetime) -> LeadState:
    """The lead did something: the silence starts again, and the event is remembered."""
    occurred = min(event.occurred_at, now)
    last = max(filter(None, (state.last_activity_at, occurred)))
    return state.model_copy(
        update={
            "last_activity_at": last,
            "silent_periods": 0 if last == occurred else state.silent_periods,
            "seen_events": _remember(state.seen_events, event.id),
        }
    )


def next_silence_check(state: LeadState, model: ScoringModel) -> datetime | None:
    """When the next inactivity penalty falls due, if nothing happens before."""
    if state.last_activity_at is None:
        return None
    period = timedelta(days=model.inactivity.after_days)
    return state.last_activity_at + period * (state.silent_periods + 1)


def apply_silence(state: LeadState, model: ScoringModel, now: datetime) -> LeadState:
    """Apply every inactivity penalty due by ``now``."""
    due = next_silence_check(state, model)
    while due is not None and due <= now:
        state = state.model_copy(update={"silent_periods": state.silent_periods + 1})
        update = apply_inactivity(model, state.score)
        state = _apply_score(state, update, model, now, "inactivity")
        due = next_silence_check(state, model)
    return state


def due_emails(state: LeadState, now: datetime) -> list[PlannedEmail]:
    """Planned emails whose time has come, earliest first."""
    return sorted((p for p in state.planned if p.due_at <= now), key=lambda p: p.due_at)


def due_starts(state: LeadState, now: datetime) -> list[PlannedStart]:
    """Planned sequence starts whose time has come, earliest first."""
    return sorted((p for p in state.starts if p.due_at <= now), key=lambda p: p.due_at)


def drop_start(state: LeadState, start: PlannedStart) -> LeadState:
    """A planned start happened (or cannot): it is no longer planned."""
    return state.model_copy(update={"starts": tuple(p for p in state.starts if p != start)})


def next_deadline(state: LeadState, model: ScoringModel) -> datetime | None:
    """The earliest moment the journey has something to do on its own."""
    moments = [p.due_at for p in state.planned] + [s.due_at for s in state.starts]
    moments += [p.expires_at for p in state.unconfirmed]
    silence = next_silence_check(state, model)
    if silence is not None:
        moments.append(silence)
    return min(moments, default=None)


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
    return _add_condition(
        state, Condition.BOUNCED, record.at, record.detail or "permanent SMTP failure"
    )


class OptOut(BaseModel):
    """The person asked for no more marketing mail (or complained of it)."""

    model_config = _FROZEN

    reason: Literal["unsubscribed", "complaint"] = "unsubscribed"
    channel: Literal["one-click", "page", "mailto", "api", "webhook"]
    """How it came: the mailbox's one-click POST, the page's button, a mail to the
    unsubscribe address, the API, or a provider's complaint report."""
    at: AwareDatetime


def apply_opt_out(state: LeadState, opt_out: OptOut) -> LeadState:
    """The lead is unsubscribed from now on: marketing mail stops, its sequences stop.
    Transactional mail (what the person asks for) still goes. A repeat changes nothing."""
    reason = f"{opt_out.reason} ({opt_out.channel})"
    return _add_condition(state, Condition.UNSUBSCRIBED, opt_out.at, reason)


class AddressBounced(BaseModel):
    """The address bounces for good, as reported after the send (a provider's webhook)."""

    model_config = _FROZEN

    reason: str
    """What the report said (``hard bounce 5.1.1: no such user``)."""
    at: AwareDatetime


def apply_bounce(state: LeadState, bounced: AddressBounced) -> LeadState:
    """The lead's address bounces: nothing more is sent to it. A repeat changes nothing."""
    return _add_condition(state, Condition.BOUNCED, bounced.at, bounced.reason)


def _add_condition(state: LeadState, condition: Condition, at: datetime, reason: str) -> LeadState:
    """``condition`` holds from ``at`` on, with a transition saying why; once only."""
    if condition in state.conditions:
        return state
    change = Transition(
        field="condition", from_value=None, to_value=condition, at=at, reason=reason
    )
    return state.model_copy(
        update={
            "conditions": (*state.conditions, condition),
            "transitions": (*state.transitions, change),
        }
    )


def start_enrolment(state: LeadState, enrolment: Enrolment) -> LeadState:
    """Note that the lead entered a sequence."""
    return state.model_copy(update={"enrolments": (*state.enrolments, enrolment)})


def end_enrolment(
    state: LeadState, workflow_id: str, result: str, detail: str | None, at: datetime
) -> LeadState:
    """Note how an enrolment ended; an unknown or already ended one changes nothing."""
    enrolments = tuple(
        e.model_copy(
            update={
                "ended_at": at,
                "result": result,
                "detail": detail,
                "step": None,
                "next_touch_at": None,
            }
        )
        if e.workflow_id == workflow_id and e.ended_at is None
        else e
        for e in state.enrolments
    )
    return state.model_copy(update={"enrolments": enrolments})


def record_progress(
    state: LeadState, workflow_id: str, step: str, next_touch_at: datetime | None
) -> LeadState:
    """Note a running sequence's step and next touch; an ended or unknown one changes nothing."""
    enrolments = tuple(
        e.model_copy(update={"step": step, "next_touch_at": next_touch_at})
        if e.workflow_id == workflow_id and e.ended_at is None
        else e
        for e in state.enrolments
    )
    return state.model_copy(update={"enrolments": enrolments})


def _apply_score(
    state: LeadState,
    update: ScoreUpdate,
    model: ScoringModel,
    now: datetime,
    cause: str,
    *,
    qualify_lead: bool = True,
) -> LeadState:
    changes: list[Transition] = []
    if update.advanced_to:
        changes.append(
            Transition(
                field="buying_stage",
                from_value=state.score.buying_stage,
                to_value=update.advanced_to,
                at=now,
                reason=f"{cause}: buying-stage points reached the target",
            )
        )
    if state.stage is Stage.RECYCLED:
        earned = state.points_since_return + update.engagement
        state = state.model_copy(update={"points_since_return": earned})
    target = _earned_stage(state, update, model, now) if qualify_lead else None
    stage = state.stage
    if target is not None:
        stage = check_transition(state.stage, target)
        changes.append(
            Transition(
                field="stage",
                from_value=state.stage,
                to_value=target,
                at=now,
                reason=f"{cause}: score {update.score.total} reached the {target} threshold",
            )
        )
    return state.model_copy(
        update={
            "score": update.score,
            "stage": stage,
            "transitions": (*state.transitions, *changes),
        }
    )


def _earned_stage(
    state: LeadState, update: ScoreUpdate, model: ScoringModel, now: datetime
) -> Stage | None:
    """The stage a score update earns the lead, if any.

    Scores only promote, and only as they rise: an update that gives no points (an event
    no rule scores, a penalty) never moves the stage. A lead sales returned stays recycled
    until it has earned ``requalify_points`` new behaviour points and its revisit date has
    come: the score it was returned with is no new interest."""
    waiting = state.revisit_after is not None and now < state.revisit_after
    if model.requalifies:
        if update.delta <= 0:
            return None
        earned = state.points_since_return >= model.thresholds.requalify_points
        if state.stage is Stage.RECYCLED and (waiting or not earned):
            return None
    target = qualify(state.stage, update.score.total, model.thresholds.mql, model.thresholds.sql)
    if target is Stage.SQL and waiting:
        # Sales asked to wait: the lead may become an MQL again, not an SQL, before then.
        target = Stage.MQL if state.stage is not Stage.MQL else None
    return target


def _welcome_emails(
    lead_id: str, form: FormSubmitted, now: datetime, second_conversion: bool
) -> list[PlannedEmail]:
    campaign = f"form-{form.form_id}"
    context = form.context().template_context()
    thank_you = PlannedEmail(
        key=idempotency_key(lead_id, campaign, "thank_you"),
        template="thank_you",
        kind=EmailKind.TRANSACTIONAL,
        due_at=now,
        context=context,
    )
    if not form.related or not second_conversion:
        return [thank_you]
    second = PlannedEmail(
        key=idempotency_key(lead_id, campaign, "second_conversion"),
        template="second_conversion",
        kind=EmailKind.MARKETING,
        due_at=now + form.second_conversion_delay,
        context=context,
    )
    return [thank_you, second]


def _remember(seen: tuple[str, ...], event_id: str) -> tuple[str, ...]:
    if event_id in seen:
        return seen
    return (*seen, event_id)[-SEEN_EVENTS_KEPT:]
