"""Emails and sequences: per template and per sequence step, what was sent and what the
leads did with it; per sequence version, how many enrolments reached the goal.

Semantics, over the range:

- ``sent`` and ``bounced`` count the ``email_sent`` and ``email_bounced`` facts of the
  range, under their own template and step.
- Opens, clicks, unsubscribes and complaints count what happened (up to now) to the emails
  SENT in the range. Opens and clicks are unique per email: an email opened five times is
  one open. One opened by a person at least once is in ``opens``; one opened only by
  machines (a link scanner, Apple Mail Privacy Protection: the fact's ``machine``) is in
  ``machine_opens`` instead, never in both; clicks likewise.
- An unsubscribe or a complaint counts against the last email sent to the lead before it,
  when that email was sent in the range; one with no email before it is not counted.
- Sequences: the enrolments that entered (``sequence_entered``) in the range, by how they
  ended (``sequence_ended`` of the same enrolment: goal, exited, stopped, finished) up to
  now; ``goal_rate`` is goal over entered.

Rates (``open_rate``, ``click_rate``) are over ``sent``; ``None`` when nothing was sent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from datetime import datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from nurture.domain.factlog import Fact
from nurture.domain.reports.common import (
    Cell,
    Column,
    ReportQuery,
    ReportResult,
    ReportTable,
    ratio,
    tally_facts,
)

__all__ = [
    "KINDS",
    "EmailCounts",
    "EmailsReport",
    "EmailsTally",
    "SequenceResults",
    "StepEmails",
    "TemplateEmails",
    "emails",
]

KINDS: tuple[str, ...] = (
    "email_sent",
    "email_bounced",
    "email_opened",
    "email_clicked",
    "unsubscribed",
    "complained",
    "sequence_entered",
    "sequence_ended",
)
_COUNTS = (
    "sent",
    "bounced",
    "opens",
    "machine_opens",
    "clicks",
    "machine_clicks",
    "unsubscribes",
    "complaints",
)
_RESULTS = ("goal", "exited", "stopped", "finished")
_ENGAGEMENT = {"email_opened": "opens", "email_clicked": "clicks"}
_OPT_OUTS = {"unsubscribed": "unsubscribes", "complained": "complaints"}
_FROZEN = ConfigDict(frozen=True)
Version = int | str | None
K = TypeVar("K", bound=Hashable)


class EmailCounts(BaseModel):
    """What happened to a set of emails."""

    model_config = _FROZEN

    sent: int = 0
    bounced: int = 0
    opens: int = 0
    machine_opens: int = 0
    clicks: int = 0
    machine_clicks: int = 0
    unsubscribes: int = 0
    complaints: int = 0
    open_rate: float | None = None
    click_rate: float | None = None

    @classmethod
    def of(cls, counts: Counter[str]) -> dict[str, int | float | None]:
        """The fields of the counts in ``counts``, rates included."""
        fields: dict[str, int | float | None] = {name: counts[name] for name in _COUNTS}
        fields["open_rate"] = ratio(counts["opens"], counts["sent"])
        fields["click_rate"] = ratio(counts["clicks"], counts["sent"])
        return fields


class TemplateEmails(EmailCounts):
    """The emails of one template."""

    template: str


class StepEmails(EmailCounts):
    """The emails of one step of one version of a sequence."""

    sequence: str
    version: Version
    step: Version


class SequenceResults(BaseModel):
    """How the enrolments in one version of a sequence ended."""

    model_config = _FROZEN

    sequence: str
    version: Version
    entered: int
    goal: int
    exited: int
    stopped: int
    finished: int
    goal_rate: float | None


class EmailsReport(ReportResult):
    """Emails per template and per sequence step, and sequence goals."""

    report: Literal["emails"] = "emails"
    templates: tuple[TemplateEmails, ...]
    steps: tuple[StepEmails, ...]
    sequences: tuple[SequenceResults, ...]

    def tables(self) -> tuple[ReportTable, ...]:
        counts = tuple(Column(key=k, label=_LABELS[k]) for k in _COUNTS)
        templates = ReportTable(
            name="templates",
            title="Emails per template",
            columns=(Column(key="template", label="Template", kind="text"), *counts),
            rows=tuple((t.template, *_cells(t)) for t in self.templates),
        )
        steps = ReportTable(
            name="steps",
            title="Emails per sequence step",
            columns=(*_SEQUENCE_COLUMNS, Column(key="step", label="Step", kind="text"), *counts),
            rows=tuple((s.sequence, s.version, s.step, *_cells(s)) for s in self.steps),
        )
        sequences = ReportTable(
            name="sequences",
            title="Sequence enrolments and how they ended",
            columns=_SEQUENCE_RESULTS,
            rows=tuple(
                tuple(getattr(q, column.key) for column in _SEQUENCE_RESULTS)
                for q in self.sequences
            ),
        )
        return templates, steps, sequences


_LABELS = {
    "sent": "Sent",
    "bounced": "Bounced",
    "opens": "Opens",
    "machine_opens": "Bot opens",
    "clicks": "Clicks",
    "machine_clicks": "Bot clicks",
    "unsubscribes": "Unsubs",
    "complaints": "Complaints",
}
_SEQUENCE_COLUMNS = (
    Column(key="sequence", label="Sequence", kind="text"),
    Column(key="version", label="Ver.", kind="text"),
)
_SEQUENCE_RESULTS = (
    *_SEQUENCE_COLUMNS,
    Column(key="entered", label="Entered"),
    *(Column(key=r, label=r.capitalize()) for r in _RESULTS),
    Column(key="goal_rate", label="Goal rate", kind="rate"),
)


def _cells(row: EmailCounts) -> tuple[Cell, ...]:
    return tuple(getattr(row, name) for name in _COUNTS)


class EmailsTally:
    """The emails being counted, lead by lead."""

    def __init__(self, query: ReportQuery) -> None:
        self.query = query
        self.period = query.period()
        self.templates: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.steps: defaultdict[tuple[str, Version, Version], Counter[str]] = defaultdict(Counter)
        self.sequences: defaultdict[tuple[str, Version], Counter[str]] = defaultdict(Counter)

    def _count(self, email: Fact, what: str) -> None:
        self.templates[str(email.get("template"))][what] += 1
        sequence = email.get("sequence")
        if sequence is not None:
            self.steps[(str(sequence), email.get("version"), email.get("step"))][what] += 1

    def add_lead(self, facts: Sequence[Fact]) -> None:
        sent: dict[object, Fact] = {}  # the emails sent in the range, by key
        last: Fact | None = None  # the last email sent before the current fact
        engaged: set[tuple[str, object, bool]] = set()  # (opens or clicks, key, machine)
        for fact in facts:
            if fact.kind in ("email_sent", "email_bounced") and self.period.covers(fact.at):
                self._count(fact, "sent" if fact.kind == "email_sent" else "bounced")
            if fact.kind == "email_sent":
                last = fact
                if self.period.covers(fact.at):
                    sent[fact.get("key")] = fact
            elif fact.kind in _ENGAGEMENT and fact.get("key") in sent:
                engaged.add((_ENGAGEMENT[fact.kind], fact.get("key"), bool(fact.get("machine"))))
            elif fact.kind in _OPT_OUTS and last is not None and _in(sent, last):
                self._count(last, _OPT_OUTS[fact.kind])
        for what, key, machine in engaged:
            if not machine:
                self._count(sent[key], what)
            elif (what, key, False) not in engaged:
                self._count(sent[key], f"machine_{what}")
        self._sequences(facts)

    def _sequences(self, facts: Sequence[Fact]) -> None:
        for entry in facts:
            if entry.kind != "sequence_entered" or not self.period.covers(entry.at):
                continue
            key = (str(entry.get("sequence")), entry.get("version"))
            self.sequences[key]["entered"] += 1
            end = _end_of(entry, facts)
            if end is not None and end.get("result") in _RESULTS:
                self.sequences[key][str(end.get("result"))] += 1

    def result(self) -> EmailsReport:
        return EmailsReport(
            since=self.query.since,
            until=self.query.until,
            templates=tuple(
                TemplateEmails(template=t, **EmailCounts.of(c)) for t, c in _sorted(self.templates)
            ),
            steps=tuple(
                StepEmails(sequence=k[0], version=k[1], step=k[2], **EmailCounts.of(c))
                for k, c in _sorted(self.steps)
            ),
            sequences=tuple(
                SequenceResults(
                    sequence=k[0],
                    version=k[1],
                    **{name: c[name] for name in ("entered", *_RESULTS)},
                    goal_rate=ratio(c["goal"], c["entered"]),
                )
                for k, c in _sorted(self.sequences)
            ),
        )


def _in(sent: dict[object, Fact], email: Fact) -> bool:
    """Whether ``email`` is one of the emails ``sent`` in the range."""
    return sent.get(email.get("key")) is email


def _end_of(entry: Fact, facts: Sequence[Fact]) -> Fact | None:
    """The ``sequence_ended`` fact of the enrolment ``entry`` began."""
    started: datetime = entry.at
    return next(
        (
            f
            for f in facts
            if f.kind == "sequence_ended"
            and f.at >= started
            and f.get("sequence") == entry.get("sequence")
            and f.get("enrolment") == entry.get("enrolment")
        ),
        None,
    )


def _sorted(rows: dict[K, Counter[str]]) -> list[tuple[K, Counter[str]]]:
    """Rows by key, numbers in numeric order (step 2 before step 10), no value first."""
    return sorted(rows.items(), key=lambda item: _order(item[0]))


def _order(key: object) -> tuple[tuple[int, float, str], ...]:
    parts = key if isinstance(key, tuple) else (key,)
    return tuple(
        (0, 0, "") if p is None else (1, p, "") if isinstance(p, int) else (2, 0, str(p))
        for p in parts
    )


def emails(facts: Iterable[Fact], query: ReportQuery) -> EmailsReport:
    """The emails report of ``facts`` (ordered by lead, of the kinds in ``KINDS``)."""
    return tally_facts(EmailsTally(query), facts).result()
