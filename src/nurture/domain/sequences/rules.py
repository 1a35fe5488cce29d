"""Which sequence a lead enters, and when: configured rules applied by a pure function.

At most one marketing sequence runs per lead. The highest-priority rule the lead matches
wins; a running sequence is only replaced by a strictly higher-priority one; a lead enters
a sequence again only if its rule allows re-entry, after the configured delay. A rule's
stages say where its sequence may run: a lead that leaves them is taken out of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from nurture.domain.lead.facts import LeadFacts
from nurture.domain.lead.state import Enrolment
from nurture.domain.lifecycle import MARKETING_STAGES, Stage
from nurture.domain.sales.records import RECYCLE_REASONS
from nurture.domain.schedule import Duration

__all__ = [
    "EnrolmentRule",
    "choose_enrolment",
    "must_stop",
    "next_enrolment_check",
    "stages_of",
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
    inactive_for: Duration | None = None
    """Only leads with no activity for at least this long (re-engagement)."""
    recycle_reasons: tuple[str, ...] | None = None
    """Only leads back from sales for one of these reasons: a return's reason (budget,
    timing...) or ``lost``."""
    reenter_after: Duration | None = None
    """Allow another entry this long after the previous one ended; never when unset."""
    custom: dict[str, tuple[str | int | float | bool, ...]] | None = None
    """Only leads whose custom field (``[fields]`` of nurture.toml) holds one of these
    values, for every field named: ``custom = { budget = ["10k-50k", "over 50k"] }``."""

    @model_serializer(mode="wrap")
    def _unset_left_out(self, handler: SerializerFunctionWrapHandler) -> Any:
        """A rule without ``custom`` serialises as rules did before it existed, so the
        configuration snapshots of running leads keep their digests."""
        data = handler(self)
        if isinstance(data, dict) and data.get("custom") is None:
            data.pop("custom", None)
        return data

    @field_validator("recycle_reasons")
    @classmethod
    def _known_reasons(cls, reasons: tuple[str, ...] | None) -> tuple[str, ...] | None:
        unknown = [r for r in reasons or () if r not in RECYCLE_REASONS]
        if unknown:
            raise ValueError(
                f"unknown recycle reason {', '.join(map(repr, unknown))}: "
                f"use {', '.join(RECYCLE_REASONS)}"
            )
        return reasons


def must_stop(facts: LeadFacts, stages: Iterable[Stage] = MARKETING_STAGES) -> str | None:
    """Why a sequence allowed in ``stages`` must stop now, or ``None``."""
    if facts.conditions:
        return f"the lead is {', '.join(facts.conditions)}"
    if facts.stage not in set(stages):
        return f"the lead moved to stage '{facts.stage}'"
    return None


def stages_of(rules: tuple[EnrolmentRule, ...], sequence: str) -> tuple[Stage, ...]:
    """Where ``sequence`` may run: its rule's stages (marketing stages if no rule names it)."""
    rule = next((r for r in rules if r.sequence == sequence), None)
    return rule.stages if rule else tuple(sorted(MARKETING_STAGES))


def choose_enrolment(
    rules: tuple[EnrolmentRule, ...],
    facts: LeadFacts,
    history: tuple[Enrolment, ...],
    active: Enrolment | None,
    now: datetime,
) -> EnrolmentRule | None:
    """The rule whose sequence the lead should enter now, or ``None`` to change nothing."""
    if facts.conditions:
        return None
    eligible = [
        rule
        for rule in rules
        if _matches(rule, facts, now) and _may_enter(rule, history, active, now)
    ]
    if not eligible:
        return None
    best = max(eligible, key=lambda rule: rule.priority)
    if active is not None and best.priority <= active.priority:
        return None
    return best


def next_enrolment_check(
    rules: tuple[EnrolmentRule, ...],
    facts: LeadFacts,
    history: tuple[Enrolment, ...],
    now: datetime,
) -> datetime | None:
    """The next moment the mere passing of time may let the lead enter a sequence.

    That is when a lead goes quiet for long enough (``inactive_for``) or a re-entry delay
    (``reenter_after``) runs out; ``None`` when no rule waits on the clock.
    """
    moments: list[datetime] = []
    for rule in rules:
        if rule.inactive_for is not None and facts.last_activity_at is not None:
            moments.append(facts.last_activity_at + rule.inactive_for)
        ends = [e.ended_at for e in history if e.sequence == rule.sequence and e.ended_at]
        if rule.reenter_after is not None and ends:
            moments.append(max(ends) + rule.reenter_after)
    return min((m for m in moments if m > now), default=None)


def _matches(rule: EnrolmentRule, facts: LeadFacts, now: datetime) -> bool:
    return (
        facts.stage in rule.stages
        and (rule.buying_stages is None or facts.buying_stage in rule.buying_stages)
        and (rule.sources is None or facts.source in rule.sources)
        and (rule.forms is None or any(form in facts.forms for form in rule.forms))
        and (rule.inactive_for is None or _quiet_for(facts, now) >= rule.inactive_for)
        and (rule.recycle_reasons is None or facts.recycle_reason in rule.recycle_reasons)
        and (rule.custom is None or _custom_matches(rule.custom, facts))
    )


def _custom_matches(
    wanted: dict[str, tuple[str | int | float | bool, ...]], facts: LeadFacts
) -> bool:
    """Every field named holds one of its values (a number as a number, a date as
    ``2026-11-30``, a choice or text exactly)."""
    for name, values in wanted.items():
        held = facts.custom.get(name)
        if held is None or not any(_same(held, value) for value in values):
            return False
    return True


def _same(held: object, value: str | int | float | bool) -> bool:
    if isinstance(held, bool) or isinstance(value, bool):
        return held is value
    if isinstance(held, int | float) and isinstance(value, int | float):
        return float(held) == float(value)
    text = held.isoformat() if hasattr(held, "isoformat") else str(held)
    return text == str(value)


def _quiet_for(facts: LeadFacts, now: datetime) -> timedelta:
    if facts.last_activity_at is None:
        return timedelta(0)
    return now - facts.last_activity_at


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
