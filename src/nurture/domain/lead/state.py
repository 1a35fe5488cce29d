"""What a lead's workflow knows: ``LeadState`` and the records it is made of.

Every other module of ``nurture.domain.lead`` takes a state and returns a new one; this one
holds the shapes, and the two small rules every change shares: an id remembered once, a
condition added once with the transition saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from nurture.domain.emails import ConfirmLink, EmailKind
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.models import Consent, FormContext, FormSubmitted, Lead, Utm
from nurture.domain.sales.records import HandOff, SalesEntry
from nurture.domain.scoring import Score, ScoringModel, initial_score

__all__ = [
    "CONSENTS_KEPT",
    "SEEN_EVENTS_KEPT",
    "Archived",
    "EmailRecord",
    "Enrolment",
    "LeadOrigin",
    "LeadState",
    "PendingOptIn",
    "PlannedEmail",
    "PlannedStart",
    "Transition",
    "active_among",
    "add_condition",
    "lift_condition",
    "remember",
    "start_state",
]

SEEN_EVENTS_KEPT = 1000
"""Event ids remembered for deduplication; older ids fall off (retries come within minutes)."""
CONSENTS_KEPT = 50
"""Consents kept as evidence, newest last."""
_FROZEN = ConfigDict(frozen=True)


class Transition(BaseModel):
    """A change of lifecycle stage or buying stage, and why."""

    model_config = _FROZEN

    field: Literal["stage", "buying_stage", "condition"]
    from_value: str | None
    to_value: str
    at: AwareDatetime
    reason: str
    cause: str | None = None
    """The reason in a few fixed words (``event page_viewed``, ``returned budget``): what
    the facts log keeps, where ``reason`` is for people and may quote free text."""
    score: int | None = None
    """The lead's points total at that moment (stage changes)."""


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
    due_at: AwareDatetime | None = None
    """When it was due: set on the lead's own planned emails, so the state still says it
    was planned once it is sent."""
    sequence: str | None = None
    """The sequence that sent it, its version and the send's number in the enrolment
    (1-based), and the enrolment's A/B variants at the time: ``None``/empty for the
    lead's own emails."""
    version: int | None = None
    step: int | None = None
    variant: dict[str, str | None] = {}


def active_among(enrolments: Sequence[Enrolment]) -> Enrolment | None:
    """The rule-driven enrolment still running among ``enrolments`` (the latest), if any: a
    sequence started beside it (``alongside``) is not one."""
    return next((e for e in reversed(enrolments) if e.ended_at is None and not e.alongside), None)


class Enrolment(BaseModel):
    """One entry of a lead into one version of a sequence."""

    model_config = _FROZEN

    sequence: str
    version: int
    number: int
    priority: int
    workflow_id: str
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    result: Literal["completed", "goal", "exited", "stopped"] | None = None
    detail: str | None = None
    step: str | None = None
    """What the sequence is doing now, as it last reported (``wait 3d``, ``waiting up to...``)."""
    next_touch_at: AwareDatetime | None = None
    """When the sequence next acts on its own, as it last reported."""
    alongside: bool = False
    """Started by an event (a welcome per new form), not by a rule: it runs beside the
    rule-driven sequence, and its marketing steps check the lead's stage when they send."""
    variants: dict[str, str | None] = {}
    """The A/B variant the sequence assigned the lead in each experiment (``None``: the
    holdout), as it reported them."""


class LeadOrigin(BaseModel):
    """Where the lead came from, as its first form said: fixed once, so the facts log's
    ``lead_created`` says the same whenever it is derived (later forms may change the
    profile's source, UTM tags or country)."""

    model_config = _FROZEN

    source: str
    form: str
    utm: Utm = Utm()
    locale: str
    country: str | None = None


class Archived(BaseModel):
    """How many records of a long life earlier runs stopped carrying (the facts log has
    them all): see ``nurture.domain.lead.compaction``."""

    model_config = _FROZEN

    emails: int = 0
    transitions: int = 0
    sales_log: int = 0
    handoffs: int = 0
    enrolments: dict[str, int] = {}
    """Per sequence: the entries no longer carried (the next entry's number counts them)."""


class LeadState(BaseModel):
    """Everything a lead's workflow knows; carried intact through continue-as-new."""

    model_config = _FROZEN

    lead_id: str
    lead: Lead | None = None
    origin: LeadOrigin | None = None
    """Set by the first form that makes the lead a lead in its own right."""
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
    unconfirmed: tuple[PendingOptIn, ...] = ()
    """Double opt-in form posts waiting for confirmation."""
    confirmations_sent: tuple[AwareDatetime, ...] = ()
    """When confirmation emails were planned while the current ones wait."""
    consents: tuple[Consent, ...] = ()
    """Every consent given (capture, then confirmation), oldest first: the evidence."""
    archived: Archived = Archived()
    """The records of emails, changes, enrolments, hand-offs and sales actions no longer
    carried from run to run (the newest are; the facts log keeps every one)."""

    def held_forms(self) -> list[FormSubmitted]:
        """The double opt-in posts waiting for confirmation, in the order they came."""
        return sorted((p.form for p in self.unconfirmed), key=lambda f: f.submitted_at)

    @property
    def confirmed(self) -> bool:
        """True once the lead confirmed an address by double opt-in."""
        return self.lead is not None and self.lead.consent.confirmed

    def active_enrolment(self) -> Enrolment | None:
        """The rule-driven sequence the lead is in now, if any (at most one)."""
        return active_among(self.enrolments)

    def running_alongside(self) -> list[Enrolment]:
        """Sequences running beside the rule-driven one (a welcome per new form)."""
        return [e for e in self.enrolments if e.ended_at is None and e.alongside]

    def next_enrolment_number(self, sequence: str) -> int:
        """The number of the lead's next entry into ``sequence`` (1 for the first)."""
        carried = sum(e.sequence == sequence for e in self.enrolments)
        return 1 + self.archived.enrolments.get(sequence, 0) + carried

    def next_handoff_number(self) -> int:
        """The number of the lead's next hand-off to sales (1 for the first)."""
        return 1 + self.archived.handoffs + len(self.handoffs)

    def has_seen(self, event_id: str) -> bool:
        """True when an event with this id was already applied."""
        return event_id in self.seen_events


def start_state(lead_id: str, model: ScoringModel) -> LeadState:
    """The state of a lead nobody has heard from yet."""
    return LeadState(lead_id=lead_id, score=initial_score(model))


def remember(seen: tuple[str, ...], event_id: str) -> tuple[str, ...]:
    """``seen`` with ``event_id`` added once, the oldest ids falling off past the limit."""
    if event_id in seen:
        return seen
    return (*seen, event_id)[-SEEN_EVENTS_KEPT:]


def add_condition(
    state: LeadState, condition: Condition, at: datetime, reason: str, cause: str
) -> LeadState:
    """``condition`` holds from ``at`` on, with a transition saying why (``cause``: in a
    few fixed words); once only."""
    if condition in state.conditions:
        return state
    change = Transition(
        field="condition", from_value=None, to_value=condition, at=at, reason=reason, cause=cause
    )
    return state.model_copy(
        update={
            "conditions": (*state.conditions, condition),
            "transitions": (*state.transitions, change),
        }
    )


def lift_condition(
    state: LeadState,
    condition: Condition,
    at: datetime,
    reason: str,
    cause: str,
    to_value: str = "lifted",
) -> LeadState:
    """``condition`` no longer holds from ``at`` on, with a transition to ``to_value``
    saying why; nothing when it does not hold."""
    if condition not in state.conditions:
        return state
    change = Transition(
        field="condition",
        from_value=condition,
        to_value=to_value,
        at=at,
        reason=reason,
        cause=cause,
    )
    return state.model_copy(
        update={
            "conditions": tuple(c for c in state.conditions if c is not condition),
            "transitions": (*state.transitions, change),
        }
    )
