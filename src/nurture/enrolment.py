"""Which sequence a lead enters, and when: configured rules applied by a pure function.

At most one marketing sequence runs per lead. The highest-priority rule the lead matches
wins; a running sequence is only replaced by a strictly higher-priority one; a lead enters
a sequence again only if its rule allows re-entry, after the configured delay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from nurture.lifecycle import MARKETING_STAGES, Condition, Stage
from nurture.schedule import Duration

__all__ = [
    "Enrolment",
    "EnrolmentRule",
    "LeadFacts",
    "choose_enrolment",
    "must_stop",
]


class EnrolmentRule(BaseModel):
    """When a lead enters one sequence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sequence: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    priority: int = 0
    stages: tuple[Stage, ...] = tuple(sorted(MARKETING_STAGES))
    buying_stages: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    forms: tuple[str, ...] | None = None
    """The lead submitted at least one of these forms."""
    reenter_after: Duration | None = None
    """Allow another entry this long after the previous one ended; never when unset."""


class Enrolment(BaseModel):
    """One entry of a lead into one version of a sequence."""

    model_config = ConfigDict(frozen=True)

    sequence: str
    version: int
    number: int
    priority: int
    workflow_id: str
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    result: Literal["completed", "goal", "exited", "stopped"] | None = None
    detail: str | None = None


class LeadFacts(BaseModel):
    """What the rules look at."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    conditions: tuple[Condition, ...] = ()
    buying_stage: str
    source: str | None = None
    forms: tuple[str, ...] = ()


def must_stop(facts: LeadFacts) -> str | None:
    """Why a running marketing sequence must stop now, or ``None``."""
    if facts.conditions:
        return f"the lead is {', '.join(facts.conditions)}"
    if facts.stage not in MARKETING_STAGES:
        return f"the lead moved to stage '{facts.stage}'"
    return None


def choose_enrolment(
    rules: tuple[EnrolmentRule, ...],
    facts: LeadFacts,
    history: tuple[Enrolment, ...],
    active: Enrolment | None,
    now: datetime,
) -> EnrolmentRule | None:
    """The rule whose sequence the lead should enter now, or ``None`` to change nothing."""
    if must_stop(facts):
        return None
    eligible = [
        rule for rule in rules if _matches(rule, facts) and _may_enter(rule, history, active, now)
    ]
    if not eligible:
        return None
    best = max(eligible, key=lambda rule: rule.priority)
    if active is not None and best.priority <= active.priority:
        return None
    return best


def _matches(rule: EnrolmentRule, facts: LeadFacts) -> bool:
    return (
        facts.stage in rule.stages
        and (rule.buying_stages is None or facts.buying_stage in rule.buying_stages)
        and (rule.sources is None or facts.source in rule.sources)
        and (rule.forms is None or any(form in facts.forms for form in rule.forms))
    )


def _may_enter(
    rule: EnrolmentRule, history: tuple[Enrolment, ...], active: Enrolment | None, now: datetime
) -> bool:
    if active is not None and active.sequence == rule.sequence:
        return False
    past = [e for e in history if e.sequence == rule.sequence]
    if not past:
        return True
    last_end = max((e.ended_at for e in past if e.ended_at), default=None)
    if rule.reenter_after is None or last_end is None:
        return False
    return now >= last_end + rule.reenter_after
