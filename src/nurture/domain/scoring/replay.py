"""A lead's score told again under another model: ``LeadRecord`` and ``replay``.

``nurture scoring backtest`` reads each lead's facts (the profile its forms gave, the events
it sent, what sales did) into a ``LeadRecord``, and replays that record through a scoring
model as the lead's workflow would have: the fit of the profile as it stood, each event
within its rule's cap, a form's event only once per ``rescore_after``, machine-made opens
and clicks for nothing, an inactivity penalty per silent period, weak events that score
without qualifying. What it keeps is the score over time and when it first reached the MQL
and SQL thresholds.

What it leaves out, the same for every model: points sales gave or took by hand, and the
rule that keeps a returned lead recycled until it earns new points (a back-test asks when a
score would have crossed a threshold, not what sales would have done then).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from nurture.domain.factlog import Fact
from nurture.domain.fields import CustomField, FieldValue, typed_back
from nurture.domain.models import Lead, LeadEvent, PropertyValue
from nurture.domain.scoring.engine import (
    Grade,
    Score,
    ScoreUpdate,
    apply_inactivity,
    apply_profile,
    grade_for,
    initial_score,
    score_event,
)
from nurture.domain.scoring.model import ScoringModel

__all__ = ["HandOffRecord", "LeadRecord", "Replayed", "lead_record", "replay"]

_FROZEN = ConfigDict(frozen=True)
_EMAIL_EVENTS = frozenset({"email_opened", "email_clicked"})
Outcome = Literal["won", "lost", "accepted", "returned", "disqualified", "pending"]


class Scored(BaseModel):
    """Something a lead did that a model may score: an event, or a form post (its profile
    changes first, and its event counts once per ``rescore_after``)."""

    model_config = _FROZEN

    at: datetime
    event: LeadEvent
    form: str | None = None
    profile: dict[str, str | None] = {}
    rescore_after: timedelta = timedelta(0)


class HandOffRecord(BaseModel):
    """One hand-off to sales and what became of it."""

    model_config = _FROZEN

    id: str
    at: datetime
    outcome: Outcome
    reason: str | None = None
    """The BANT reason of a return, or the stated one of a disqualification."""


class LeadRecord(BaseModel):
    """What a back-test needs of one lead, read from its facts."""

    model_config = _FROZEN

    lead_id: str
    created_at: datetime
    stage: str
    """Its lifecycle stage now, as its last ``stage_changed`` fact says."""
    done: tuple[Scored, ...] = ()
    handoffs: tuple[HandOffRecord, ...] = ()


class Replayed(BaseModel):
    """A lead's score under one model: over time, and when it crossed the thresholds."""

    model_config = _FROZEN

    lead_id: str
    total: int
    grade: Grade
    stage: str
    """The stage the model gives it now: sales' decisions stand (a lead sales took on,
    recycled or disqualified stays so); a marketing lead is where its score puts it."""
    mql_at: datetime | None
    sql_at: datetime | None
    moments: tuple[datetime, ...] = ()
    totals: tuple[int, ...] = ()

    def score_at(self, at: datetime) -> int:
        """The total just after everything up to ``at`` was scored."""
        index = bisect.bisect_right(self.moments, at)
        return self.totals[index - 1] if index else 0


_KEEP_STAGE = frozenset({"opportunity", "customer", "recycled", "disqualified"})


def lead_record(facts: Sequence[Fact]) -> LeadRecord | None:
    """One lead's facts (in time order) as a record, or ``None`` for a lead with no
    ``lead_created`` fact (its facts were erased, or it never became a lead)."""
    created = next((f for f in facts if f.kind == "lead_created"), None)
    if created is None:
        return None
    changes = [f for f in facts if f.kind == "stage_changed"]
    done = [item for fact in facts if (item := _scored(fact)) is not None]
    return LeadRecord(
        lead_id=created.lead_id,
        created_at=created.at,
        stage=_last_stage(changes),
        done=tuple(done),
        handoffs=_handoffs(facts),
    )


def replay(
    model: ScoringModel,
    record: LeadRecord,
    now: datetime,
    fields: Mapping[str, CustomField] | None = None,
) -> Replayed:
    """``record`` scored by ``model``, from its first fact up to ``now``; custom values
    typed back by ``fields`` (the project's ``[fields]``), by their look without it."""
    run = _Run(model, fields or {})
    for item in record.done:
        run.silence_until(item.at)
        run.take(item)
    run.silence_until(now)
    total = run.score.total
    return Replayed(
        lead_id=record.lead_id,
        total=total,
        grade=grade_for(model, total),
        stage=_stage_now(record.stage, run),
        mql_at=run.crossed.get("mql"),
        sql_at=run.crossed.get("sql"),
        moments=tuple(run.moments),
        totals=tuple(run.totals),
    )


class _Run:
    """The score as it builds up, and the first time each threshold was reached."""

    def __init__(self, model: ScoringModel, fields: Mapping[str, CustomField]) -> None:
        self.model = model
        self.fields = fields
        self.score: Score = initial_score(model)
        self.profile: dict[str, str | None] = {}
        self.last_activity: datetime | None = None
        self.silent = 0
        self.forms_scored: dict[str, datetime] = {}
        self.crossed: dict[str, datetime] = {}
        self.moments: list[datetime] = []
        self.totals: list[int] = []

    def take(self, item: Scored) -> None:
        if item.form is not None:
            self.profile.update(item.profile)
            lead = _lead(self.profile, self.fields)
            self._apply(apply_profile(self.model, self.score, lead), item.at)
            last = self.forms_scored.get(item.form)
            self._active(item.at)
            if last is not None and item.at - last < item.rescore_after:
                return
            self.forms_scored[item.form] = item.at
        elif _machine_made(item.event):
            return
        else:
            self._active(item.at)
        weak = item.event.type in self.model.weak_events
        self._apply(score_event(self.model, self.score, item.event), item.at, qualify=not weak)

    def silence_until(self, now: datetime) -> None:
        """Every inactivity penalty due by ``now``, as the lead's silence timer gives them."""
        if self.last_activity is None:
            return
        period = timedelta(days=self.model.inactivity.after_days)
        while (due := self.last_activity + period * (self.silent + 1)) <= now:
            self.silent += 1
            self._apply(apply_inactivity(self.model, self.score), due)

    def _active(self, at: datetime) -> None:
        if self.last_activity is None or at >= self.last_activity:
            self.last_activity, self.silent = at, 0

    def _apply(self, update: ScoreUpdate, at: datetime, *, qualify: bool = True) -> None:
        self.score = update.score
        self.moments.append(at)
        self.totals.append(update.score.total)
        if qualify and update.delta > 0:
            thresholds = self.model.thresholds
            for name, at_least in (("mql", thresholds.mql), ("sql", thresholds.sql)):
                if update.score.total >= at_least:
                    self.crossed.setdefault(name, at)


def _stage_now(actual: str, run: _Run) -> str:
    if actual in _KEEP_STAGE:
        return actual
    if "sql" in run.crossed:
        return "sql"
    return "mql" if "mql" in run.crossed else "new"


def _last_stage(changes: Sequence[Fact]) -> str:
    """The stage the last change led to. Changes at the same moment (read in id order)
    chain: the last is the one no other of that moment starts from."""
    if not changes:
        return "new"
    final = [f for f in changes if f.at == changes[-1].at]
    starts = {f.get("from_stage") for f in final}
    ends = [f for f in final if f.get("to_stage") not in starts] or final
    return str(ends[-1].get("to_stage"))


def _scored(fact: Fact) -> Scored | None:
    properties = fact.get("properties") or {}
    if fact.kind == "form_submitted" and fact.get("event"):
        return Scored(
            at=fact.at,
            event=_event(fact, str(fact.get("event")), properties),
            form=str(fact.get("form")),
            profile=fact.get("profile") or {},
            rescore_after=timedelta(seconds=fact.get("rescore_after") or 0),
        )
    if fact.kind == "event_received":
        return Scored(at=fact.at, event=_event(fact, str(fact.get("type")), properties))
    if fact.kind in _EMAIL_EVENTS:
        if "properties" not in fact.data and fact.get("key"):
            properties = {"via": "nurture"}  # logged before properties were: nurture's own
        told = {**properties, "template": fact.get("template"), "machine": fact.get("machine")}
        return Scored(at=fact.at, event=_event(fact, fact.kind, told))
    return None


def _event(fact: Fact, kind: str, properties: Mapping[str, str | None]) -> LeadEvent:
    values: dict[str, PropertyValue] = {k: _typed(v) for k, v in properties.items() if v}
    return LeadEvent.model_construct(id=fact.id, type=kind, occurred_at=fact.at, properties=values)


def _typed(text: str) -> PropertyValue:
    """A property as the event gave it: facts keep text, rules compare numbers and flags."""
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _machine_made(event: LeadEvent) -> bool:
    return event.type in _EMAIL_EVENTS and bool(event.properties.get("machine"))


def _lead(profile: Mapping[str, str | None], fields: Mapping[str, CustomField]) -> Lead:
    """The profile as the ``Lead`` fit rules read: an address at its domain, custom fields
    (as ``[fields]`` types them; a field it no longer declares by its look) and the company
    size typed back from text."""
    values: dict[str, Any] = {
        k: v for k, v in profile.items() if v is not None and k in Lead.model_fields
    }
    values["email"] = f"x@{profile.get('email_domain') or 'unknown.invalid'}"
    values["company_size"] = _size(profile.get("company_size"))
    values["custom"] = {
        name: _custom(name, v, fields)
        for k, v in profile.items()
        if (name := k.removeprefix("custom.")) != k and v is not None
    }
    return Lead.model_construct(**values)


def _custom(name: str, text: str, fields: Mapping[str, CustomField]) -> FieldValue:
    """As the live lead holds it: typed by its field (a date stays a date)."""
    typed = typed_back(name, text, fields)
    return _typed(text) if typed is None else typed


def _size(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _handoffs(facts: Iterable[Fact]) -> tuple[HandOffRecord, ...]:
    """Each hand-off with its outcome: won or lost if the deal closed, else the first
    decision (accepted, returned, disqualified), else pending."""
    started: dict[str, datetime] = {}
    actions: dict[str, list[tuple[str, str | None]]] = {}
    for fact in facts:
        handoff = fact.get("handoff")
        if fact.kind == "handed_off" and handoff:
            started.setdefault(str(handoff), fact.at)
        elif fact.kind == "sales_action" and handoff:
            actions.setdefault(str(handoff), []).append((fact.get("action"), fact.get("reason")))
    return tuple(_outcome(handoff, at, actions.get(handoff, [])) for handoff, at in started.items())


def _outcome(handoff: str, at: datetime, actions: list[tuple[str, str | None]]) -> HandOffRecord:
    taken = [action for action, _ in actions]
    closed = next((o for o in ("won", "lost") if o in taken), None)
    decision = next((a for a in actions if a[0] in ("accepted", "returned", "disqualified")), None)
    if closed is None and decision is not None:
        return HandOffRecord.model_validate(
            {"id": handoff, "at": at, "outcome": decision[0], "reason": decision[1]}
        )
    return HandOffRecord.model_validate({"id": handoff, "at": at, "outcome": closed or "pending"})
