"""The facts about a lead that decisions read: stage, grade, buying stage, score...

Enrolment rules, the sales desk and the lead's sequences decide on these, computed from
the state and the scoring model at a moment; the view people read is built from them too,
and never feeds a decision.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from nurture.domain.emails import EmailKind
from nurture.domain.fields import FieldValue
from nurture.domain.lead.state import EmailRecord, LeadState
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.scoring import Grade, Heat, ScoringModel, grade_for, temperature_for
from nurture.domain.sequences.models import LeadSnapshot

__all__ = ["RECENT_SENDS", "LeadFacts", "lead_facts", "lead_snapshot", "recent_marketing_sends"]

RECENT_SENDS = 50
"""Marketing sends a sequence is told about, for its frequency cap."""


class LeadFacts(BaseModel):
    """What the rules look at."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    conditions: tuple[Condition, ...] = ()
    score: int
    grade: Grade
    temperature: Heat
    buying_stage: str
    source: str | None = None
    forms: tuple[str, ...] = ()
    last_activity_at: AwareDatetime | None = None
    recycle_reason: str | None = None
    custom: dict[str, FieldValue] = {}
    """The lead's custom fields (enrolment rules may ask for values)."""


def lead_facts(state: LeadState, model: ScoringModel, now: datetime) -> LeadFacts:
    """The lead's facts at ``now``: grade and temperature derive from the score (and the
    silence) by the scoring model."""
    total = state.score.total
    return LeadFacts(
        stage=state.stage,
        conditions=state.conditions,
        score=total,
        grade=grade_for(model, total),
        temperature=temperature_for(model, total, state.last_activity_at, now),
        buying_stage=state.score.buying_stage,
        source=state.lead.source.value if state.lead else None,
        forms=state.forms,
        last_activity_at=state.last_activity_at,
        recycle_reason=state.recycle_reason,
        custom=state.lead.custom if state.lead else {},
    )


def recent_marketing_sends(emails: tuple[EmailRecord, ...]) -> tuple[EmailRecord, ...]:
    """The last :data:`RECENT_SENDS` marketing emails sent: what the frequency cap counts."""
    sent = tuple(e for e in emails if e.kind is EmailKind.MARKETING and e.status == "sent")
    return sent[-RECENT_SENDS:]


def lead_snapshot(state: LeadState, facts: LeadFacts) -> LeadSnapshot:
    """The lead as its sequence sees it."""
    lead = state.lead
    if lead is None:
        raise ValueError(f"lead {state.lead_id} has no profile yet")
    marketing = tuple(e.at for e in recent_marketing_sends(state.emails))
    return LeadSnapshot(
        lead_id=state.lead_id,
        email=lead.email,
        full_name=lead.full_name,
        locale=state.locale,
        timezone=lead.timezone,
        country=lead.country,
        stage=facts.stage.value,
        conditions=tuple(facts.conditions),
        score=facts.score,
        grade=facts.grade.value,
        buying_stage=facts.buying_stage,
        source=facts.source,
        attributes={
            **lead.model_dump(mode="json", exclude={"utm", "consent", "email"}),
            "full_name": lead.full_name,
        },
        marketing_sent_at=marketing,
        tracking=lead.consent.marketing,
    )
