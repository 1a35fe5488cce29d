"""What a set of enrolment rules would do to a running lead at its next evaluation.

``nurture enrolment check`` asks it of every running lead, under the rules in force and
under a changed set, before the change ships. A lead's facts for the rules come from two
places: what visibility says of it now (stage, conditions, buying stage, source, last
activity: the attributes its workflow publishes) and what the facts log recorded (the forms
it posted, the custom fields they gave, why sales last sent it back, every sequence it
entered and left, with the priority of the rule that started it). The decision itself is
the workflow's own (``must_stop``, ``stages_of``, ``choose_enrolment``), taken in the same
order: the running sequence stops if the lead left its rule's stages, then the best rule
the lead may enter wins if it beats what still runs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from nurture.domain.factlog import Fact
from nurture.domain.fields import CustomField, FieldValue, typed_back
from nurture.domain.lead.facts import LeadFacts
from nurture.domain.lead.state import Enrolment, active_among
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.scoring import Grade, Heat
from nurture.domain.sequences.rules import (
    EnrolmentRule,
    choose_enrolment,
    must_stop,
    stages_of,
)

__all__ = [
    "KINDS",
    "EnrolmentPast",
    "Move",
    "RunningLead",
    "enrolment_past",
    "facts_for",
    "next_move",
]

KINDS: tuple[str, ...] = (
    "lead_created",
    "form_submitted",
    "opt_in_confirmed",
    "sales_action",
    "sequence_entered",
    "sequence_ended",
)
"""The facts an enrolment check reads."""

_FROZEN = ConfigDict(frozen=True)
_RESULTS: dict[str, Literal["completed", "goal", "exited", "stopped"]] = {
    "finished": "completed",
    "goal": "goal",
    "exited": "exited",
    "stopped": "stopped",
}


class RunningLead(BaseModel):
    """A running lead as visibility lists it (its workflow's search attributes)."""

    model_config = _FROZEN

    lead_id: str
    stage: Stage
    conditions: tuple[Condition, ...] = ()
    buying_stage: str | None = None
    source: str | None = None
    score: int = 0
    grade: Grade = Grade.C
    temperature: Heat = Heat.COLD
    last_activity_at: AwareDatetime | None = None
    sequence: str | None = None
    """The rule-driven sequence it runs, as its workflow last published it."""


class EnrolmentPast(BaseModel):
    """What the facts log says of a lead that enrolment rules read."""

    model_config = _FROZEN

    lead_id: str
    forms: tuple[str, ...] = ()
    custom: dict[str, str] = {}
    """The custom fields its forms gave, newest value of each, as the log keeps them (text)."""
    recycle_reason: str | None = None
    source: str | None = None
    """The source its last form gave (visibility's, when it has one, is the lead's now)."""
    enrolments: tuple[Enrolment, ...] = ()
    """Every sequence it entered, in order; the running ones without an end."""
    partial: bool = False
    """No form's profile in the log (a lead imported, or from before the log): forms after
    the first and custom fields are unknown."""
    assumed_priority: bool = False
    """The running sequence's entry predates facts that record its rule's priority: the
    priority the rules in force give it is assumed."""


class Move(BaseModel):
    """What the lead's next evaluation does about its sequences."""

    model_config = _FROZEN

    kind: Literal["stays", "none", "enters", "leaves", "changes"]
    """``stays`` in its sequence, ``none``: stays out of any, ``enters`` one, ``leaves`` its
    sequence for none, ``changes`` to another (after leaving it or replacing it)."""
    sequence: str | None = None
    """The sequence it runs now (rule-driven; a welcome beside it does not count)."""
    to: str | None = None
    """The sequence it would enter."""
    reason: str = ""

    @property
    def label(self) -> str:
        """The move in a few words: ``enters re-engagement``, ``discovery → evaluation``."""
        match self.kind:
            case "stays":
                return f"stays in {self.sequence}"
            case "none":
                return "stays out of sequences"
            case "enters":
                return f"enters {self.to}"
            case "leaves":
                return f"leaves {self.sequence}"
            case _:
                return f"{self.sequence} → {self.to}"


PriorityOf = Callable[[str], int]
"""The priority an entry whose fact does not record it is taken to have (its sequence's)."""


def enrolment_past(
    facts: Sequence[Fact], priority_of: PriorityOf, double_opt_in: Collection[str] = ()
) -> EnrolmentPast | None:
    """One lead's facts (in time order) as what the rules read, or ``None`` for none.

    A post of a form in ``double_opt_in``, before the lead confirmed any address, counts
    (its form, its profile) only once an ``opt_in_confirmed`` of that form follows: until
    then the lead holds it unapplied, and one never confirmed is forgotten. An import's
    origin (``import:<name>``) is no form."""
    if not facts:
        return None
    past = _Past(priority_of, frozenset(double_opt_in))
    for fact in facts:
        past.take(fact)
    return past.result(facts[0].lead_id)


class _Past:
    """:func:`enrolment_past` as it reads a lead's facts one at a time."""

    def __init__(self, priority_of: PriorityOf, double_opt_in: frozenset[str]) -> None:
        self.priority_of = priority_of
        self.double_opt_in = double_opt_in
        self.forms: dict[str, None] = {}
        self.custom: dict[str, str] = {}
        self.recycle_reason: str | None = None
        self.source: str | None = None
        self.entries: dict[str, Enrolment] = {}
        self.held: dict[str, list[Fact]] = {}
        self.posted = False
        self.confirmed = False
        self.assumed: set[str] = set()

    def take(self, fact: Fact) -> None:
        match fact.kind:
            case "lead_created":  # its first form: all a backfilled lead's log knows
                self._form(str(fact.get("form")))
                self.source = self.source or fact.get("source")
            case "form_submitted":
                self.posted = True
                form = str(fact.get("form"))
                if form in self.double_opt_in and not self.confirmed:
                    self.held.setdefault(form, []).append(fact)
                else:
                    self._posted(fact)
            case "opt_in_confirmed":
                self.confirmed = True  # later double opt-in posts count at once
                for held in self.held.pop(str(fact.get("form")), []):
                    self._posted(held)
            case "sales_action":
                if fact.get("action") == "returned":
                    self.recycle_reason = fact.get("reason")
                elif fact.get("action") == "lost":
                    self.recycle_reason = "lost"
            case "sequence_entered":
                key = str(fact.get("workflow_id"))
                self.entries[key] = _entered(fact, self.priority_of)
                if fact.get("priority") is None:
                    self.assumed.add(key)
            case "sequence_ended":
                key = str(fact.get("workflow_id"))
                if key in self.entries:
                    result = _RESULTS.get(str(fact.get("result")))
                    ended = {"ended_at": fact.at, "result": result, "detail": fact.get("detail")}
                    self.entries[key] = self.entries[key].model_copy(update=ended)

    def _form(self, form: str) -> None:
        if not form.startswith("import:"):
            self.forms.setdefault(form, None)

    def _posted(self, fact: Fact) -> None:
        self._form(str(fact.get("form")))
        profile = fact.get("profile") or {}
        self.source = profile.get("source") or self.source
        for name, value in profile.items():
            if name.startswith("custom.") and value is not None:
                self.custom[name.removeprefix("custom.")] = value

    def result(self, lead_id: str) -> EnrolmentPast:
        entries = sorted(self.entries.values(), key=lambda e: e.started_at)
        active = active_among(entries)
        return EnrolmentPast(
            lead_id=lead_id,
            forms=tuple(self.forms),
            custom=self.custom,
            recycle_reason=self.recycle_reason,
            source=self.source,
            enrolments=tuple(entries),
            partial=not self.posted,
            assumed_priority=active is not None and active.workflow_id in self.assumed,
        )


def _entered(fact: Fact, priority_of: PriorityOf) -> Enrolment:
    sequence = str(fact.get("sequence"))
    priority = fact.get("priority")
    return Enrolment(
        sequence=sequence,
        version=int(fact.get("version") or 1),
        number=int(fact.get("enrolment") or 1),
        priority=priority_of(sequence) if priority is None else int(priority),
        workflow_id=str(fact.get("workflow_id")),
        started_at=fact.at,
        alongside=bool(fact.get("alongside")),
    )


def facts_for(
    lead: RunningLead, past: EnrolmentPast, fields: Mapping[str, CustomField]
) -> LeadFacts:
    """The lead's facts as its workflow would compute them now, from both sources; custom
    values typed by ``[fields]`` (a value no longer valid, or of a field no longer declared,
    stays text: it matches only the same text)."""
    return LeadFacts(
        stage=lead.stage,
        conditions=lead.conditions,
        score=lead.score,
        grade=lead.grade,
        temperature=lead.temperature,
        buying_stage=lead.buying_stage or "",
        source=lead.source or past.source,
        forms=past.forms,
        last_activity_at=lead.last_activity_at,
        recycle_reason=past.recycle_reason,
        custom={name: _typed(name, text, fields) for name, text in past.custom.items()},
    )


def _typed(name: str, text: str, fields: Mapping[str, CustomField]) -> FieldValue:
    typed = typed_back(name, text, fields)
    return text if typed is None else typed


def next_move(
    rules: tuple[EnrolmentRule, ...],
    facts: LeadFacts,
    enrolments: tuple[Enrolment, ...],
    now: datetime,
) -> Move:
    """What the lead's next evaluation at ``now`` does under ``rules``, as
    ``SequenceManager.manage`` decides it."""
    active = active_among(enrolments)
    stopped = None
    if active is not None:
        stopped = must_stop(facts, stages_of(rules, active.sequence))
        if stopped:
            ended = active.model_copy(update={"ended_at": now, "result": "stopped"})
            enrolments = tuple(ended if e is active else e for e in enrolments)
    running = None if stopped else active
    rule = choose_enrolment(rules, facts, enrolments, running, now)
    current = active.sequence if active else None
    if rule is None:
        if stopped:
            return Move(kind="leaves", sequence=current, reason=stopped)
        held = f"the lead is {', '.join(facts.conditions)}" if facts.conditions else None
        if active is None:
            return Move(kind="none", reason=held or "no rule it may enter matches")
        beaten = f"nothing it may enter beats priority {active.priority}"
        return Move(kind="stays", sequence=current, reason=held or beaten)
    why = _why(rule)
    if active is None:
        return Move(kind="enters", to=rule.sequence, reason=why)
    if stopped:
        why = f"{stopped}; {why}"
    else:
        why = f"{rule.sequence} rule ({rule.priority}) beats {active.sequence}'s {active.priority}"
    return Move(kind="changes", sequence=current, to=rule.sequence, reason=why)


def _why(rule: EnrolmentRule) -> str:
    return f"{rule.sequence} rule matches (priority {rule.priority})"
