"""The enrolment check: what the rules in force and a changed set would each do to every
running lead at its next evaluation, side by side (``nurture enrolment check``).

- **Summary**: how many running leads would enter a sequence, leave theirs, change to
  another, stay in theirs or stay out of any, under each set.
- **Moves**: the same, per sequence (``enters re-engagement``, ``discovery → evaluation``).
- **Leads that differ**: each lead whose move the change alters, with the changed set's
  reason (the first :data:`LISTED`; all are counted).

Counted apart and judged by neither set: a running lead the facts log knows nothing of (it
lived before the log: ``nurture facts backfill`` fills it in), and one whose log is out of
step with the sequence its workflow publishes (a write still on its way). Counted among the
judged but named in the note: leads whose log holds no form's profile (imported, or from
before the log: custom fields and later forms unknown), and leads whose running sequence's
priority had to be assumed (entered before facts recorded it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from nurture.domain.factlog import Fact
from nurture.domain.fields import CustomField
from nurture.domain.lead.state import active_among
from nurture.domain.reports.common import (
    Column,
    ReportResult,
    ReportTable,
    current_and_candidate,
    with_change,
)
from nurture.domain.sequences.dryrun import (
    EnrolmentPast,
    Move,
    RunningLead,
    enrolment_past,
    facts_for,
    next_move,
)
from nurture.domain.sequences.rules import EnrolmentRule

__all__ = ["KINDS_ORDER", "LISTED", "Differing", "EnrolmentCheckReport", "EnrolmentCheckTally"]

LISTED = 200
"""Leads whose move differs listed by id (all are counted)."""
KINDS_ORDER = ("enters", "leaves", "changes", "stays", "none")
_KIND_WORDS = {
    "enters": "enter a sequence",
    "leaves": "leave their sequence",
    "changes": "change sequence",
    "stays": "stay in their sequence",
    "none": "stay out of sequences",
}
_FROZEN = ConfigDict(frozen=True)


class Differing(BaseModel):
    """A lead the changed rules would move otherwise than the rules in force."""

    model_config = _FROZEN

    lead_id: str
    current: str
    candidate: str
    reason: str


class EnrolmentCheckReport(ReportResult):
    """The check's answer (``report = "enrolment-check"``)."""

    report: str = "enrolment-check"
    since: None = None
    until: None = None
    current: str
    candidate: str
    at: datetime
    same_rules: bool
    running: int
    """Running leads visibility listed."""
    unknown: int
    """Of them, those the facts log knows nothing of (judged by neither set)."""
    unknown_examples: tuple[str, ...] = ()
    out_of_step: int = 0
    """Of them, those whose log and published sequence disagree (judged by neither set)."""
    out_of_step_examples: tuple[str, ...] = ()
    partial: int = 0
    """Judged leads whose log holds no form's profile."""
    assumed: int = 0
    """Judged leads whose running sequence's priority was assumed."""
    kinds: dict[str, tuple[int, int]]
    """Leads per kind of move (enters, leaves, changes, stays, none), under each set."""
    moves: dict[str, tuple[int, int]]
    """Leads per move (``enters re-engagement``...), under each set."""
    differing: int
    listed: tuple[Differing, ...]

    def tables(self) -> tuple[ReportTable, ...]:
        """Summary, moves per sequence, and the leads that differ when some do."""
        shown = (_summary_table(self), _moves_table(self))
        return (*shown, _differing_table(self)) if self.listed else shown


class EnrolmentCheckTally:
    """The check being computed: fed each lead's facts (in lead order), then asked for the
    report. Only the leads visibility listed as running are judged."""

    def __init__(
        self,
        current: tuple[EnrolmentRule, ...],
        candidate: tuple[EnrolmentRule, ...],
        running: Sequence[RunningLead],
        fields: Mapping[str, CustomField],
        at: datetime,
        names: tuple[str, str] = ("current", "candidate"),
        double_opt_in: Collection[str] = (),
    ) -> None:
        self.rules = (current, candidate)
        self.running = {lead.lead_id: lead for lead in running}
        self.fields = fields
        self.at = at
        self.names = names
        self.double_opt_in = tuple(double_opt_in)
        self._out_of_step: list[str] = []
        self._partial = self._assumed = 0
        self._priorities = {r.sequence: r.priority for r in reversed(current)}
        self._seen: set[str] = set()
        self._kinds: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
        self._moves: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
        self._differing = 0
        self._listed: list[Differing] = []

    def add_lead(self, facts: Sequence[Fact]) -> None:
        """Judge one lead from its facts (of :data:`~nurture.domain.sequences.dryrun.KINDS`)."""
        if not facts or facts[0].lead_id not in self.running:
            return
        past = enrolment_past(
            facts, lambda sequence: self._priorities.get(sequence, 0), self.double_opt_in
        )
        if past is not None:
            self.add(self.running[past.lead_id], past)

    def add(self, lead: RunningLead, past: EnrolmentPast) -> None:
        """Judge one running lead by both sets."""
        if lead.lead_id in self._seen:
            return
        self._seen.add(lead.lead_id)
        active = active_among(past.enrolments)
        if (active.sequence if active else None) != lead.sequence:
            self._out_of_step.append(lead.lead_id)
            return
        self._partial += past.partial
        self._assumed += past.assumed_priority
        facts = facts_for(lead, past, self.fields)
        moves = [next_move(rules, facts, past.enrolments, self.at) for rules in self.rules]
        for side, move in enumerate(moves):
            self._kinds[side][move.kind] += 1
            self._moves[side][move.label] += 1
        if _what(moves[0]) != _what(moves[1]):  # the same move for another reason is none
            self._differing += 1
            if len(self._listed) < LISTED:
                self._listed.append(_differing(lead.lead_id, *moves))

    def result(self) -> EnrolmentCheckReport:
        """The report over every lead judged so far."""
        unknown = sorted(set(self.running) - self._seen)
        out = sorted(self._out_of_step)
        labels = sorted(set(self._moves[0]) | set(self._moves[1]), key=_label_order)
        return EnrolmentCheckReport(
            current=self.names[0],
            candidate=self.names[1],
            at=self.at,
            same_rules=self.rules[0] == self.rules[1],
            running=len(self.running),
            unknown=len(unknown),
            unknown_examples=tuple(unknown[:10]),
            out_of_step=len(out),
            out_of_step_examples=tuple(out[:10]),
            partial=self._partial,
            assumed=self._assumed,
            kinds={k: (self._kinds[0][k], self._kinds[1][k]) for k in KINDS_ORDER},
            moves={label: (self._moves[0][label], self._moves[1][label]) for label in labels},
            differing=self._differing,
            listed=tuple(self._listed),
        )


def _what(move: Move) -> tuple[str, str | None, str | None]:
    return (move.kind, move.sequence, move.to)


def _differing(lead_id: str, current: Move, candidate: Move) -> Differing:
    return Differing(
        lead_id=lead_id,
        current=current.label,
        candidate=candidate.label,
        reason=candidate.reason,
    )


def _label_order(label: str) -> tuple[int, str]:
    """Entries first, then leaving, changes, staying; by name within each."""
    if label.startswith("enters "):
        return (0, label)
    if label.startswith("leaves "):
        return (1, label)
    if "→" in label:
        return (2, label)
    return (3 if label.startswith("stays in ") else 4, label)


def _summary_table(report: EnrolmentCheckReport) -> ReportTable:
    judged = report.running - report.unknown - report.out_of_step
    note = f"{report.running} running lead{'s' * (report.running != 1)}; {judged} judged"
    if report.unknown:
        some = _some(report.unknown_examples, report.unknown)
        note += (
            f"; {report.unknown} unknown to the facts log, judged by neither "
            f"(`nurture facts backfill` fills it in): {some}"
        )
    if report.out_of_step:
        some = _some(report.out_of_step_examples, report.out_of_step)
        note += (
            f"; {report.out_of_step} whose log is behind the sequence they run, judged by "
            f"neither (run the check again): {some}"
        )
    if report.partial:
        note += (
            f"; {report.partial} judged from a log without any form's profile (imported, or "
            "from before the log: custom fields and later forms unknown)"
        )
    if report.assumed:
        note += (
            f"; {report.assumed} whose running sequence's priority is assumed from the rules "
            "in force (entered before the log recorded it)"
        )
    if report.same_rules:
        note += ". Both sets of rules are the same: what each lead's next evaluation does now."
    elif report.differing:
        note += f". {report.differing} would move otherwise under {report.candidate}."
    else:
        note += f". No lead would move otherwise under {report.candidate}."
    return ReportTable(
        name="summary",
        title=(
            f"Running leads at their next evaluation: {report.current} (current) and "
            f"{report.candidate} (candidate)"
        ),
        columns=current_and_candidate("leads_that_would"),
        rows=tuple((_KIND_WORDS[k], *with_change(v)) for k, v in report.kinds.items()),
        note=note,
    )


def _some(examples: tuple[str, ...], count: int) -> str:
    return ", ".join(examples) + ("…" if count > len(examples) else "")


def _moves_table(report: EnrolmentCheckReport) -> ReportTable:
    return ReportTable(
        name="moves",
        title="Moves per sequence",
        columns=current_and_candidate("move"),
        rows=tuple((label, *with_change(v)) for label, v in report.moves.items()),
        note="A welcome running beside a lead's sequence is not counted: rules do not start "
        "or stop it.",
    )


def _differing_table(report: EnrolmentCheckReport) -> ReportTable:
    more = report.differing > len(report.listed)
    return ReportTable(
        name="differing",
        title="Leads the change would move otherwise",
        columns=(
            Column(key="lead_id", label="Lead", kind="text"),
            Column(key="current", label="Current rules", kind="text"),
            Column(key="candidate", label="Candidate rules", kind="text"),
            Column(key="why", label="Why (candidate)", kind="text"),
        ),
        rows=tuple((d.lead_id, d.current, d.candidate, d.reason) for d in report.listed),
        note=f"The first {LISTED} of {report.differing} are listed." if more else "",
    )
