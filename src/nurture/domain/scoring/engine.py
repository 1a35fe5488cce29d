"""Pure scoring: apply a profile, an event or a silence to a score, and explain every point.

A score is a list of lines, one per rule that gave points, so "why is this lead at 37?" is
always answered. Buying-stage progress is counted separately: the points earned since the
lead entered its current buying stage, compared with that stage's ``advance_at``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from nurture.domain.models import Lead, LeadEvent, PropertyValue
from nurture.domain.scoring.model import BehaviourRule, FitRule, Predicate, ScoringModel

__all__ = [
    "Grade",
    "Heat",
    "Score",
    "ScoreLine",
    "ScoreUpdate",
    "apply_inactivity",
    "apply_profile",
    "grade_for",
    "initial_score",
    "score_event",
    "temperature_for",
]

_FROZEN = ConfigDict(frozen=True)
LineKind = Literal["fit", "behaviour", "inactivity", "sales"]


class Grade(StrEnum):
    """Letter rating of a lead: A is a priority."""

    A = "A"
    B = "B"
    C = "C"


class Heat(StrEnum):
    """Temperature: how engaged the lead is now."""

    COLD = "cold"
    WARM = "warm"
    HOT = "hot"


class ScoreLine(BaseModel):
    """The points one rule gives a lead, and how many times it fired."""

    model_config = _FROZEN

    rule: str
    label: str
    kind: LineKind
    points: int
    hits: int = 1


class Score(BaseModel):
    """A lead's score with its explanation and its buying-stage progress."""

    model_config = _FROZEN

    lines: tuple[ScoreLine, ...] = ()
    buying_stage: str
    stage_points: int = 0

    @property
    def total(self) -> int:
        """The sum of every line."""
        return sum(line.points for line in self.lines)

    def line(self, rule: str) -> ScoreLine | None:
        """The line of ``rule``, if it gave points."""
        return next((line for line in self.lines if line.rule == rule), None)


class ScoreUpdate(BaseModel):
    """A new score, the points just awarded per rule, and buying stages entered."""

    model_config = _FROZEN

    score: Score
    awarded: tuple[tuple[str, int], ...] = ()
    advanced_to: str | None = None

    @property
    def delta(self) -> int:
        """Points this update changed the total by."""
        return sum(points for _, points in self.awarded)

    @property
    def engagement(self) -> int:
        """Positive behaviour points this update gave: what the lead newly did. A fit
        recomputation, a sales adjustment or an inactivity penalty is no engagement, and a
        negative behaviour rule takes nothing off it."""
        kinds = {line.rule: line.kind for line in self.score.lines}
        return sum(p for rule, p in self.awarded if p > 0 and kinds.get(rule) == "behaviour")


def initial_score(model: ScoringModel) -> Score:
    """A lead nobody has scored yet: no points, first buying stage."""
    return Score(buying_stage=model.buying_stages[0].name)


def apply_profile(model: ScoringModel, score: Score, lead: Lead) -> ScoreUpdate:
    """Recompute the fit lines for ``lead``; the difference counts towards the buying stage."""
    fit = tuple(
        ScoreLine(rule=r.id, label=r.label, kind="fit", points=r.points)
        for r in model.fit
        if _fit_matches(r, lead, model.free_mail_domains)
    )
    before = {line.rule: line.points for line in score.lines if line.kind == "fit"}
    after = {line.rule: line.points for line in fit}
    awarded = tuple(
        (rule, after.get(rule, 0) - before.get(rule, 0))
        for rule in dict.fromkeys([*before, *after])
        if after.get(rule, 0) != before.get(rule, 0)
    )
    others = tuple(line for line in score.lines if line.kind != "fit")
    return _progress(model, score.model_copy(update={"lines": fit + others}), awarded)


def score_event(model: ScoringModel, score: Score, event: LeadEvent) -> ScoreUpdate:
    """Apply every behaviour rule matching ``event``, each within its cap."""
    lines = list(score.lines)
    awarded: list[tuple[str, int]] = []
    for rule in model.behaviour:
        if not _event_matches(rule, event):
            continue
        current = next((line for line in lines if line.rule == rule.id), None)
        earned = current.points if current else 0
        gained = _capped(earned + rule.points, rule.cap) - earned
        hits = current.hits + 1 if current else 1
        new = ScoreLine(
            rule=rule.id, label=rule.label, kind="behaviour", points=earned + gained, hits=hits
        )
        lines = [new if line is current else line for line in lines] if current else [*lines, new]
        if gained:
            awarded.append((rule.id, gained))
    return _progress(model, score.model_copy(update={"lines": tuple(lines)}), tuple(awarded))


def apply_inactivity(model: ScoringModel, score: Score) -> ScoreUpdate:
    """One inactivity penalty, never taking the total below the configured floor."""
    penalty = model.inactivity
    room = min(0, penalty.floor - score.total)
    points = max(penalty.points, room)
    current = score.line("inactivity")
    line = ScoreLine(
        rule="inactivity",
        label=f"No activity for {penalty.after_days} days",
        kind="inactivity",
        points=(current.points if current else 0) + points,
        hits=(current.hits if current else 0) + 1,
    )
    lines = (*tuple(ln for ln in score.lines if ln.rule != "inactivity"), line)
    awarded = (("inactivity", points),) if points else ()
    return _progress(model, score.model_copy(update={"lines": lines}), awarded)


def apply_adjustment(
    model: ScoringModel, score: Score, rule: str, label: str, points: int
) -> ScoreUpdate:
    """Points given by hand (sales returning a lead, say), as a line of their own; the total
    never goes below zero. Buying-stage progress is left alone."""
    points = max(points, -score.total)
    current = score.line(rule)
    line = ScoreLine(
        rule=rule,
        label=label,
        kind="sales",
        points=(current.points if current else 0) + points,
        hits=(current.hits if current else 0) + 1,
    )
    lines = (*tuple(ln for ln in score.lines if ln.rule != rule), line)
    return ScoreUpdate(score=score.model_copy(update={"lines": lines}), awarded=((rule, points),))


def grade_for(model: ScoringModel, total: int) -> Grade:
    """A, B or C from the configured minimums."""
    if total >= model.grades.a:
        return Grade.A
    return Grade.B if total >= model.grades.b else Grade.C


def temperature_for(
    model: ScoringModel, total: int, last_activity: datetime | None, now: datetime
) -> Heat:
    """Hot, warm or cold from the score, and cold after a long enough silence."""
    silence = timedelta(days=model.temperature.cold_after_days)
    if last_activity is None or now - last_activity >= silence:
        return Heat.COLD
    if total >= model.temperature.hot_at:
        return Heat.HOT
    return Heat.WARM if total >= model.temperature.warm_at else Heat.COLD


def _progress(
    model: ScoringModel, score: Score, awarded: tuple[tuple[str, int], ...]
) -> ScoreUpdate:
    """Add the awarded points to the buying stage, moving on once its target is reached."""
    points = score.stage_points + sum(p for _, p in awarded)
    names = [s.name for s in model.buying_stages]
    index = names.index(score.buying_stage) if score.buying_stage in names else 0
    stage = model.buying_stages[index]
    if points >= stage.advance_at and index + 1 < len(names):
        moved = score.model_copy(update={"buying_stage": names[index + 1], "stage_points": 0})
        return ScoreUpdate(score=moved, awarded=awarded, advanced_to=names[index + 1])
    moved = score.model_copy(update={"buying_stage": stage.name, "stage_points": points})
    return ScoreUpdate(score=moved, awarded=awarded)


def _capped(points: int, cap: int | None) -> int:
    return points if cap is None else max(-cap, min(cap, points))


def _event_matches(rule: BehaviourRule, event: LeadEvent) -> bool:
    if rule.event != event.type:
        return False
    return all(_same(event.properties.get(k), v) for k, v in rule.match.items())


def _fit_matches(rule: FitRule, lead: Lead, free_mail: frozenset[str]) -> bool:
    return all(_holds(p, _attribute(lead, name, free_mail)) for name, p in rule.when.items())


def _attribute(lead: Lead, name: str, free_mail: frozenset[str]) -> PropertyValue | None:
    domain = lead.email.rpartition("@")[2]
    if name == "email_domain":
        return domain
    if name == "email_type":
        return "free" if domain in free_mail else "company"
    if name.startswith("custom."):
        found = lead.custom.get(name.removeprefix("custom."))
        return found.isoformat() if isinstance(found, date) else found
    value = getattr(lead, name)
    return value.value if isinstance(value, StrEnum) else value


def _holds(p: Predicate, value: PropertyValue | None) -> bool:
    if p.present is not None and (value is not None) != p.present:
        return False
    if value is None:
        return p.present is False or all(
            c is None for c in (p.equals, p.one_of, p.contains_any, p.min, p.max)
        )
    number = _number(value)
    return (
        (p.equals is None or _same(value, p.equals))
        and (p.one_of is None or any(_same(value, o) for o in p.one_of))
        and (p.contains_any is None or any(s.lower() in str(value).lower() for s in p.contains_any))
        and (p.min is None or (number is not None and number >= p.min))
        and (p.max is None or (number is not None and number <= p.max))
    )


def _number(value: PropertyValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _same(a: PropertyValue | None, b: PropertyValue | None) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return a == b
