"""A lead brought in from another tool (a CSV export of Mautic, HubSpot, a trade show's list).

An imported lead is a lead like any other from then on, but its arrival is not a form post:
no thank-you, no welcome sequence, no form in its history. It carries what the file says:

- its **source** (the file's, or the import's ``--source``) and its origin names the import
  (``import:<name>``), so the funnel and cost reports can tell imports apart;
- its **consent**: only a file saying the person agreed lets marketing mail go. Unknown or
  refused consent leaves the lead ``no_consent`` (transactional mail only, no sequence)
  until a form post gives it;
- its **stage**, when the file has one: a customer stays a customer, an SQL stays with
  sales (no hand-off, no alert: the CRM already owns it). A lead nurture knows already
  keeps its own stage, unless the file says it became a customer;
- **no enrolment** unless the import asks for one: the lead is ``held`` (it enters no
  sequence) until it acts, by a form or a tracked event. With enrolment, the enrolment
  rules take it at once, as they would a lead created by a form.

Applying the same row again changes nothing: its id is the row's content, remembered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nurture.domain.lead.engagement import apply_score
from nurture.domain.lead.state import (
    CONSENTS_KEPT,
    LeadOrigin,
    LeadState,
    Transition,
    add_condition,
    lift_condition,
    remember,
)
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.models import Consent, Lead
from nurture.domain.scoring import ScoringModel, apply_profile

__all__ = [
    "ConsentStatus",
    "ImportedLead",
    "acted",
    "apply_import",
    "consent_from_form",
]

ConsentStatus = Literal["given", "refused", "unknown"]

_STAGE_CAUSE = "import"


class ImportedLead(BaseModel):
    """One good row of an import, as the lead's workflow receives it."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")
    """The row's identity: a digest of what it says, so the same row imported again is
    the same message (and changes nothing)."""
    batch: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    """The import's name (the file's by default): the lead's origin is ``import:<batch>``."""
    lead: Lead
    consent: ConsentStatus = "unknown"
    stage: Stage | None = None
    enrol: bool = False
    """Let the enrolment rules take the lead at once (otherwise it is ``held``)."""
    locale: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")


def apply_import(
    state: LeadState, row: ImportedLead, message_id: str, model: ScoringModel, now: datetime
) -> LeadState:
    """What an imported row does to the lead (see the module's docstring)."""
    new = state.lead is None
    lead = row.lead
    given = row.consent == "given" and row.lead.consent.marketing
    if state.lead is not None:
        kept = state.lead.consent
        lead = state.lead.merged_with(row.lead)
        if not given or kept.marketing:
            lead = lead.model_copy(update={"consent": kept})  # a file never takes consent back
        given = given and not kept.marketing
    if given:
        consents = (*state.consents, row.lead.consent)[-CONSENTS_KEPT:]
        state = state.model_copy(update={"consents": consents})
    origin = state.origin or LeadOrigin(
        source=lead.source.value,
        form=f"import:{row.batch}",
        utm=lead.utm,
        locale=row.locale,
        country=lead.country,
    )
    state = state.model_copy(
        update={
            "lead": lead,
            "origin": origin,
            "locale": state.locale if not new else row.locale,
            "created_at": state.created_at or now,
            "seen_events": remember(state.seen_events, message_id),
        }
    )
    reason = f"imported ({row.batch})"
    if new and row.consent != "given":
        state = add_condition(state, Condition.NO_CONSENT, now, reason, "import without consent")
    if new and not row.enrol:
        state = add_condition(state, Condition.HELD, now, reason, "import without enrolment")
    if row.consent == "given":
        state = lift_condition(state, Condition.NO_CONSENT, now, reason, "consent imported")
    state = _stage(state, row.stage, new, now, reason)
    return apply_score(state, apply_profile(model, state.score, lead), model, now, "profile")


def _stage(
    state: LeadState, stage: Stage | None, new: bool, now: datetime, reason: str
) -> LeadState:
    """The file's stage: taken as it is by a new lead (the other tool's funnel placed it
    there); a known lead only ever becomes a customer by import."""
    if stage is None or stage is state.stage:
        return state
    if not new and stage is not Stage.CUSTOMER:
        return state
    change = Transition(
        field="stage",
        from_value=state.stage,
        to_value=stage,
        at=now,
        reason=reason,
        cause=_STAGE_CAUSE,
        score=state.score.total,
    )
    return state.model_copy(update={"stage": stage, "transitions": (*state.transitions, change)})


def consent_from_form(state: LeadState, given: Consent, at: datetime) -> LeadState:
    """A form post's consent lifts an import's ``no_consent``."""
    if not given.marketing:
        return state
    reason = "consent given on a form"
    return lift_condition(state, Condition.NO_CONSENT, at, reason, "form consent")


def acted(state: LeadState, at: datetime, what: str) -> LeadState:
    """The person acted (a form, a tracked event): an imported lead is ``held`` no more."""
    return lift_condition(state, Condition.HELD, at, f"the lead acted: {what}", "lead acted")
