"""The scoring back-test: each lead's recorded facts scored by the current model and by a
candidate, side by side, and both held against what sales decided.

- **Now**: leads at each stage and grade under each model. Sales' decisions stand (a lead
  sales took on, recycled or disqualified stays so); a marketing lead is where its score
  puts it. A lead *moves* when its stage or grade differs between the two.
- **Thresholds crossed**: when each model's score first reached MQL and SQL, and, for
  leads that reach a threshold under both, whether the candidate gets there earlier or
  later (the median shift in hours).
- **Against what happened**: per hand-off, by what became of it (won, lost, accepted and
  open, returned with its BANT reason, disqualified, pending), the share whose score had
  crossed MQL and SQL by the hand-off under each model; and the leads never handed off.
- **Ranking**: per model, the AUC of the score at hand-off for won against lost, returned
  and disqualified (0.5 is chance), and a suggested SQL threshold: the score at hand-off
  that best separates what sales accepted (then won, lost or still open) from what it
  returned or disqualified (largest true-positive minus false-positive rate; the closest
  to the model's own threshold on a tie). A suggestion only: nothing applies it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from statistics import median

from pydantic import BaseModel, ConfigDict, computed_field

from nurture.domain.factlog import Fact
from nurture.domain.fields import CustomField
from nurture.domain.reports.common import (
    Cell,
    Column,
    ReportResult,
    ReportTable,
    current_and_candidate,
    hours,
    ratio,
    with_change,
)
from nurture.domain.scoring.model import ScoringModel
from nurture.domain.scoring.replay import LeadRecord, Replayed, lead_record, replay

__all__ = [
    "KINDS",
    "MIN_DECISIONS",
    "BacktestReport",
    "BacktestTally",
    "Crossing",
    "ModelFigures",
    "Mover",
    "OutcomeRow",
]

KINDS: tuple[str, ...] = (
    "lead_created",
    "form_submitted",
    "event_received",
    "email_opened",
    "email_clicked",
    "stage_changed",
    "handed_off",
    "sales_action",
)
MIN_DECISIONS = 3
"""Accepted and refused hand-offs (each) below which no threshold is suggested."""
MOVERS_LISTED = 200
"""Leads that would move listed by id (all are counted)."""
_STAGES = ("new", "mql", "sql", "opportunity", "customer", "recycled", "disqualified")
_OUTCOMES = ("won", "lost", "accepted", "returned", "disqualified", "pending")
_ACCEPTED = frozenset({"won", "lost", "accepted"})
_REFUSED = frozenset({"returned", "disqualified"})
_FROZEN = ConfigDict(frozen=True)
_CROSSED = ("current_mql", "current_sql", "candidate_mql", "candidate_sql")
"""An outcome row's counts: hand-offs past each threshold under each model."""


class Mover(BaseModel):
    """A lead whose stage or grade the candidate changes."""

    model_config = _FROZEN

    lead_id: str
    stage: tuple[str, str]
    grade: tuple[str, str]
    score: tuple[int, int]


class Crossing(BaseModel):
    """One threshold (MQL or SQL) under both models."""

    model_config = _FROZEN

    threshold: str
    current: int = 0
    candidate: int = 0
    earlier: int = 0
    later: int = 0
    same: int = 0
    only_current: int = 0
    only_candidate: int = 0
    median_shift_hours: float | None = None
    """Candidate minus current, over the leads that cross under both (negative: earlier)."""


class OutcomeRow(BaseModel):
    """Hand-offs that ended one way: how many had crossed each threshold by then."""

    model_config = _FROZEN

    outcome: str
    handoffs: int = 0
    current_mql: int = 0
    current_sql: int = 0
    candidate_mql: int = 0
    candidate_sql: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def shares(self) -> dict[str, float | None]:
        """Each count as a share of the hand-offs (``None`` for none)."""
        return {name: ratio(getattr(self, name), self.handoffs) for name in _CROSSED}


class ModelFigures(BaseModel):
    """How well one model's score ranks what sales decided."""

    model_config = _FROZEN

    model: str
    mql: int
    sql: int
    auc: float | None
    suggested_sql: int | None
    suggestion: str


class BacktestReport(ReportResult):
    """The back-test's answer (``report = "scoring-backtest"``)."""

    report: str = "scoring-backtest"
    current: str
    candidate: str
    leads: int
    stages: dict[str, tuple[int, int]]
    grades: dict[str, tuple[int, int]]
    moved: int
    movers: tuple[Mover, ...]
    crossings: tuple[Crossing, ...]
    outcomes: tuple[OutcomeRow, ...]
    never_handed_off: tuple[int, int, int]
    """Leads never handed off: how many, and how many crossed SQL under each model."""
    models: tuple[ModelFigures, ModelFigures]

    def tables(self) -> tuple[ReportTable, ...]:
        """Now, thresholds crossed, against what happened, ranking, leads that move."""
        names = (self.current, self.candidate)
        return (
            _now_table(self, names),
            _crossing_table(self),
            _outcome_table(self),
            _ranking_table(self),
            _movers_table(self),
        )


class BacktestTally:
    """The back-test being computed: fed each lead's facts, then asked for the report."""

    def __init__(
        self,
        current: ScoringModel,
        candidate: ScoringModel,
        now: datetime,
        since: date | None = None,
        names: tuple[str, str] | None = None,
        fields: Mapping[str, CustomField] | None = None,
    ) -> None:
        """``names``: what to call the two models (their files, say); their own names by
        default. ``fields``: the project's ``[fields]``, which type the custom values the
        facts keep as text."""
        self._models = (current, candidate)
        self._names = names or (current.name, candidate.name)
        self._now = now
        self._since = since
        self._fields = fields or {}
        self._leads = 0
        self._stages: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
        self._grades: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
        self._moved = 0
        self._movers: list[Mover] = []
        self._shifts: dict[str, list[float]] = {"mql": [], "sql": []}
        self._crossings = {name: Counter[str]() for name in ("mql", "sql")}
        self._outcomes = {name: Counter[str]() for name in (*_OUTCOMES, "")}
        self._never = [0, 0, 0]
        self._at_handoff: list[tuple[str, int, int]] = []

    def add_lead(self, facts: Sequence[Fact]) -> None:
        """Score one lead (its facts of ``KINDS``, in time order) under both models."""
        record = lead_record(facts)
        if record is None or (self._since and record.created_at.date() < self._since):
            return
        a, b = (replay(model, record, self._now, self._fields) for model in self._models)
        self._leads += 1
        for side, run in enumerate((a, b)):
            self._stages[side][run.stage] += 1
            self._grades[side][run.grade.value] += 1
        if (a.stage, a.grade) != (b.stage, b.grade):
            self._moved += 1
            if len(self._movers) < MOVERS_LISTED:
                self._movers.append(_mover(a, b))
        self._cross(a, b)
        self._against(record, a, b)

    def _cross(self, a: Replayed, b: Replayed) -> None:
        for name in ("mql", "sql"):
            first, second = getattr(a, f"{name}_at"), getattr(b, f"{name}_at")
            count = self._crossings[name]
            count["current"] += first is not None
            count["candidate"] += second is not None
            if first is None or second is None:
                count["only_current"] += first is not None
                count["only_candidate"] += second is not None
                continue
            shift = hours(second - first)
            count["earlier" if shift < 0 else "later" if shift > 0 else "same"] += 1
            self._shifts[name].append(shift)

    def _against(self, record: LeadRecord, a: Replayed, b: Replayed) -> None:
        if not record.handoffs:
            self._never[0] += 1
            self._never[1] += a.sql_at is not None
            self._never[2] += b.sql_at is not None
            return
        for handoff in record.handoffs:
            row = self._outcomes[handoff.outcome]
            row["handoffs"] += 1
            for side, run in (("current", a), ("candidate", b)):
                for name in ("mql", "sql"):
                    crossed = getattr(run, f"{name}_at")
                    row[f"{side}_{name}"] += crossed is not None and crossed <= handoff.at
            scores = (a.score_at(handoff.at), b.score_at(handoff.at))
            self._at_handoff.append((handoff.outcome, *scores))

    def result(self) -> BacktestReport:
        """The back-test over every lead added so far."""
        current, candidate = self._models
        return BacktestReport(
            since=self._since,
            until=None,
            current=self._names[0],
            candidate=self._names[1],
            leads=self._leads,
            stages={s: (self._stages[0][s], self._stages[1][s]) for s in _STAGES},
            grades={g: (self._grades[0][g], self._grades[1][g]) for g in ("A", "B", "C")},
            moved=self._moved,
            movers=tuple(self._movers),
            crossings=tuple(self._crossing(name) for name in ("mql", "sql")),
            outcomes=tuple(
                OutcomeRow(outcome=o, **self._outcomes[o]) for o in _OUTCOMES if self._outcomes[o]
            ),
            never_handed_off=(self._never[0], self._never[1], self._never[2]),
            models=(self._figures(current, 0), self._figures(candidate, 1)),
        )

    def _crossing(self, name: str) -> Crossing:
        shifts = self._shifts[name]
        return Crossing(
            threshold=name,
            median_shift_hours=round(median(shifts), 2) if shifts else None,
            **self._crossings[name],
        )

    def _figures(self, model: ScoringModel, side: int) -> ModelFigures:
        scored = [(outcome, scores[side]) for outcome, *scores in self._at_handoff]
        won = [s for o, s in scored if o == "won"]
        not_won = [s for o, s in scored if o in ("lost", *_REFUSED)]
        accepted = [s for o, s in scored if o in _ACCEPTED]
        refused = [s for o, s in scored if o in _REFUSED]
        suggested, words = _suggest(accepted, refused, model.thresholds.sql)
        return ModelFigures(
            model=self._names[side],
            mql=model.thresholds.mql,
            sql=model.thresholds.sql,
            auc=_auc(won, not_won),
            suggested_sql=suggested,
            suggestion=words,
        )


def _mover(a: Replayed, b: Replayed) -> Mover:
    return Mover(
        lead_id=a.lead_id,
        stage=(a.stage, b.stage),
        grade=(a.grade.value, b.grade.value),
        score=(a.total, b.total),
    )


def _auc(positives: Sequence[int], negatives: Sequence[int]) -> float | None:
    """The chance that a random positive outscores a random negative (ties count half)."""
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return round(wins / (len(positives) * len(negatives)), 4)


def _suggest(accepted: Sequence[int], refused: Sequence[int], now: int) -> tuple[int | None, str]:
    """The SQL threshold that best separates accepted from refused hand-offs, in words."""
    if len(accepted) < MIN_DECISIONS or len(refused) < MIN_DECISIONS:
        return None, (
            f"not enough decisions to suggest a threshold ({len(accepted)} accepted, "
            f"{len(refused)} returned or disqualified; {MIN_DECISIONS} of each needed)"
        )

    def gain(t: int) -> tuple[float, int]:
        tpr = sum(s >= t for s in accepted) / len(accepted)
        fpr = sum(s >= t for s in refused) / len(refused)
        return (tpr - fpr, -abs(t - now))

    best = max(sorted({*accepted, *refused}), key=gain)
    kept = sum(s >= best for s in accepted)
    sent = sum(s >= best for s in refused)
    return best, (
        f"sql = {best} would have handed over {kept} of {len(accepted)} hand-offs sales "
        f"accepted and {sent} of {len(refused)} it returned or disqualified "
        f"(now sql = {now}): a suggestion, not applied"
    )


def _now_table(report: BacktestReport, names: tuple[str, str]) -> ReportTable:
    rows = [(f"stage {s}", *with_change(v)) for s, v in report.stages.items() if any(v)]
    rows += [(f"grade {g}", *with_change(v)) for g, v in report.grades.items() if any(v)]
    return ReportTable(
        name="now",
        title=f"Leads now: {names[0]} (current) and {names[1]} (candidate)",
        columns=current_and_candidate("what"),
        rows=tuple(rows),
        note=f"{report.leads} leads; {report.moved} would change stage or grade.",
    )


def _crossing_table(report: BacktestReport) -> ReportTable:
    return ReportTable(
        name="crossings",
        title="When the score first reached each threshold",
        columns=(
            Column(key="threshold", label="", kind="text"),
            Column(key="current", label="Current"),
            Column(key="candidate", label="Candidate"),
            Column(key="earlier", label="Earlier"),
            Column(key="later", label="Later"),
            Column(key="same", label="Same time"),
            Column(key="only_current", label="Only current"),
            Column(key="only_candidate", label="Only cand."),
            Column(key="median_shift_hours", label="Median shift", kind="hours"),
        ),
        rows=tuple(
            (
                c.threshold.upper(),
                c.current,
                c.candidate,
                c.earlier,
                c.later,
                c.same,
                c.only_current,
                c.only_candidate,
                c.median_shift_hours,
            )
            for c in report.crossings
        ),
        note="Earlier and later compare the leads that reach it under both models.",
    )


def _outcome_table(report: BacktestReport) -> ReportTable:
    rows: list[tuple[Cell, ...]] = [
        (r.outcome, r.handoffs, *(r.shares[name] for name in _CROSSED)) for r in report.outcomes
    ]
    never, current, candidate = report.never_handed_off
    if never:
        rows.append(
            ("never handed off", never, None, ratio(current, never), None, ratio(candidate, never))
        )
    return ReportTable(
        name="outcomes",
        title="Against what happened: hand-offs whose score had crossed MQL / SQL by then",
        columns=(
            Column(key="outcome", label="Outcome", kind="text"),
            Column(key="handoffs", label="Hand-offs"),
            Column(key="current_mql", label="Current MQL", kind="rate"),
            Column(key="current_sql", label="Current SQL", kind="rate"),
            Column(key="candidate_mql", label="Cand. MQL", kind="rate"),
            Column(key="candidate_sql", label="Cand. SQL", kind="rate"),
        ),
        rows=tuple(rows),
        note="A hand-off counts once, by its end: won or lost, else sales' first decision. "
        "Never handed off: the share each model's score would have made an SQL.",
    )


def _ranking_table(report: BacktestReport) -> ReportTable:
    return ReportTable(
        name="ranking",
        title="How well each score ranks what sales decided",
        columns=(
            Column(key="model", label="Model", kind="text"),
            Column(key="mql", label="MQL at"),
            Column(key="sql", label="SQL at"),
            Column(key="auc", label="AUC won", kind="decimal"),
            Column(key="suggested_sql", label="Suggested SQL"),
        ),
        rows=tuple((f.model, f.mql, f.sql, f.auc, f.suggested_sql) for f in report.models),
        note="AUC: the chance a won deal's score at hand-off beats a lost, returned or "
        "disqualified one's (0.5 is chance, 1 perfect). "
        + " ".join(f"{f.model}: {f.suggestion}." for f in report.models),
    )


def _movers_table(report: BacktestReport) -> ReportTable:
    return ReportTable(
        name="movers",
        title="Leads that would move",
        columns=(
            Column(key="lead_id", label="Lead", kind="text"),
            Column(key="stage", label="Stage", kind="text"),
            Column(key="grade", label="Grade", kind="text"),
            Column(key="score", label="Score", kind="text"),
        ),
        rows=tuple(
            (m.lead_id, " → ".join(m.stage), " → ".join(m.grade), f"{m.score[0]} → {m.score[1]}")
            for m in report.movers
        ),
        note=f"The first {MOVERS_LISTED} are listed." if report.moved > MOVERS_LISTED else "",
    )
