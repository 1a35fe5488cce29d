"""What a nurture sequence runs on: its input, the lead as it sees it, and pure helpers.

A sequence (``workflows/sequences/``) is a versioned child workflow of the lead. It gets a
snapshot of the lead at enrolment, refreshed by the lead when it changes, and reports what
it sent back to the lead. Everything here is pure, so workflows may import it.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from nurture.domain.emails import idempotency_key
from nurture.domain.lead.state import EmailRecord
from nurture.domain.lifecycle import MARKETING_STAGES
from nurture.domain.models import FormContext
from nurture.domain.schedule import FrequencyCap, SendWindow

__all__ = [
    "LeadSnapshot",
    "SendingPolicy",
    "SequenceInput",
    "SequenceOutcome",
    "SequenceProgress",
    "SequenceStatus",
    "assign_variant",
    "sequence_campaign",
    "sequence_step_key",
    "sequence_workflow_id",
]

_FROZEN = ConfigDict(frozen=True)


class LeadSnapshot(BaseModel):
    """The lead as a sequence sees it: who to mail, and what to branch on."""

    model_config = _FROZEN

    lead_id: str
    email: str
    full_name: str | None = None
    locale: str = "en"
    timezone: str | None = None
    country: str | None = None
    stage: str = "new"
    conditions: tuple[str, ...] = ()
    """Unsubscribed, bounced: checked before every send."""
    score: int = 0
    grade: str = "C"
    buying_stage: str = "discovery"
    source: str | None = None
    attributes: dict[str, Any] = {}
    """The lead's profile fields (first_name, company, industry...), for templates and branches."""
    marketing_sent_at: tuple[AwareDatetime, ...] = ()
    """When recent marketing emails went out, for the frequency cap."""
    tracking: bool = False
    """The lead consented to marketing mail, and so to its opens and clicks being measured."""


class SendingPolicy(BaseModel):
    """When marketing email may go out."""

    model_config = _FROZEN

    window: SendWindow = SendWindow()
    cap: FrequencyCap = FrequencyCap()


class SequenceInput(BaseModel):
    """Start input of a sequence child workflow."""

    model_config = _FROZEN

    name: str
    version: int
    enrolment: int
    """How many times this lead entered this sequence, this time included: keys differ per entry."""
    lead: LeadSnapshot
    stages: tuple[str, ...] = tuple(sorted(MARKETING_STAGES))
    """Stages in which the sequence may send marketing email (its rule's stages)."""
    form: FormContext | None = None
    """The form that started it, for sequences started by a form (the welcome)."""


class SequenceStatus(BaseModel):
    """Where a running sequence stands, for the lead and the UI."""

    model_config = _FROZEN

    name: str
    version: int
    step: str
    next_touch_at: AwareDatetime | None = None
    variant: dict[str, str | None] = {}
    emails: tuple[EmailRecord, ...] = ()


class SequenceProgress(BaseModel):
    """A sequence telling its lead which step it is on and when it next acts."""

    model_config = _FROZEN

    workflow_id: str
    number: int
    """Counts the reports of one sequence run: the lead applies each once."""
    step: str
    next_touch_at: AwareDatetime | None = None
    variants: dict[str, str | None] = {}
    """The A/B variants assigned so far in this enrolment (``None``: the holdout)."""


class SequenceOutcome(BaseModel):
    """How a sequence ended."""

    model_config = _FROZEN

    workflow_id: str
    name: str
    version: int
    result: Literal["completed", "goal", "exited"]
    detail: str | None = None
    ended_at: AwareDatetime


def sequence_campaign(name: str, version: int, enrolment: int) -> str:
    """The campaign part of email keys: one per entry into one version of a sequence."""
    return f"seq-{name}-v{version}-e{enrolment}"


def sequence_step_key(lead_id: str, inp: SequenceInput, template: str, occurrence: int) -> str:
    """The idempotency key of the ``occurrence``-th send of ``template`` in this enrolment."""
    campaign = sequence_campaign(inp.name, inp.version, inp.enrolment)
    return idempotency_key(lead_id, campaign, template, occurrence)


def sequence_workflow_id(lead_id: str, name: str, enrolment: int) -> str:
    """The child workflow id: readable, and free of any email address."""
    return f"lead-{lead_id}/seq-{name}-{enrolment}"


def assign_variant(
    lead_id: str, experiment: str, variants: dict[str, int], holdout: float = 0.0
) -> str | None:
    """A stable A/B assignment: the same lead always gets the same variant of an experiment.

    Args:
        lead_id: who is assigned.
        experiment: names the split; another name gives an independent assignment.
        variants: variant name → relative weight.
        holdout: share of leads (0-1) kept out of every variant; they get ``None``.
    """
    if not variants or any(w <= 0 for w in variants.values()):
        raise ValueError("variants need at least one name, each with a positive weight")
    if not 0.0 <= holdout < 1.0:
        raise ValueError("holdout must be at least 0 and below 1")
    draw = _uniform(f"{experiment}:{lead_id}")
    if draw < holdout:
        return None
    point = (draw - holdout) / (1.0 - holdout) * sum(variants.values())
    for name, weight in variants.items():
        if point < weight:
            return name
        point -= weight
    return list(variants)[-1]


def _uniform(text: str) -> float:
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
