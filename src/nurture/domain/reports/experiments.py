"""Experiments: for each A/B split, how each variant (and the holdout) converts, and whether
it differs from the control.

Semantics:

- A lead is in an experiment's variant when a ``variant_assigned`` fact of the range puts
  it there (variant ``None``: the holdout). A lead counts once per experiment, in the
  variant of its first assignment of the range (assignments are stable: the same lead
  always gets the same variant).
- It converted when an enrolment it was assigned in reached its goal: a ``sequence_ended``
  with result ``goal`` for the same sequence and enrolment, up to now.
- The control is the holdout when the experiment has one (it got no treatment at all),
  else the variant whose name sorts first (the facts do not keep the order the sequence
  declared). Each other variant gets its difference in conversion rate against the
  control and a two-sided p-value: of the pooled two-proportion z-test when both arms
  expect at least 5 goals and 5 non-goals at the pooled rate, else of Fisher's exact test
  (the z-test's normal approximation fails on rare goals); ``test`` says which.
- Rates get a Wilson 95% interval. A comparison needs ``MIN_LEADS`` leads in each of the
  two arms and ``MIN_CONVERSIONS`` conversions in the two together: below that its
  verdict is "not enough data yet", whatever the p-value says. Otherwise it is
  "significant" when the p-value is under ``ALPHA``, else "no significant difference".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from nurture.domain.factlog import Fact
from nurture.domain.reports.common import (
    Column,
    ReportQuery,
    ReportResult,
    ReportTable,
    ratio,
    tally_facts,
)
from nurture.domain.reports.stats import (
    fisher_exact_p,
    normal_enough,
    two_proportion_p,
    wilson_interval,
)

__all__ = [
    "ALPHA",
    "KINDS",
    "MIN_CONVERSIONS",
    "MIN_LEADS",
    "ExperimentResult",
    "ExperimentsReport",
    "ExperimentsTally",
    "SignificanceTest",
    "VariantResult",
    "Verdict",
    "experiments",
]

KINDS: tuple[str, ...] = ("variant_assigned", "sequence_ended")
MIN_LEADS = 30
"""Leads each arm of a comparison needs before it is judged."""
MIN_CONVERSIONS = 5
"""Conversions the two arms of a comparison need together before it is judged."""
ALPHA = 0.05
Verdict = Literal["control", "not enough data yet", "significant", "no significant difference"]
SignificanceTest = Literal["z-test", "fisher-exact"]
_FROZEN = ConfigDict(frozen=True)


class VariantResult(BaseModel):
    """One arm of an experiment."""

    model_config = _FROZEN

    variant: str | None
    """``None``: the holdout."""
    leads: int
    conversions: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    difference: float | None
    """``rate`` minus the control's (``None`` for the control itself)."""
    p_value: float | None
    test: SignificanceTest | None = None
    """The test that gave ``p_value`` (``None`` for the control)."""
    verdict: Verdict


class ExperimentResult(BaseModel):
    """One split and its arms, the control first."""

    model_config = _FROZEN

    experiment: str
    control: str | None
    """The control's variant (``None``: the holdout)."""
    variants: tuple[VariantResult, ...]


class ExperimentsReport(ReportResult):
    """Conversion per experiment and variant, compared with the control."""

    report: Literal["experiments"] = "experiments"
    confidence: float = 0.95
    min_leads: int = MIN_LEADS
    min_conversions: int = MIN_CONVERSIONS
    experiments: tuple[ExperimentResult, ...]

    def tables(self) -> tuple[ReportTable, ...]:
        columns = (
            Column(key="experiment", label="Experiment", kind="text"),
            Column(key="variant", label="Variant", kind="text"),
            Column(key="leads", label="Leads"),
            Column(key="conversions", label="Goals"),
            Column(key="rate", label="Rate", kind="rate"),
            Column(key="ci_low", label="95% low", kind="rate"),
            Column(key="ci_high", label="95% high", kind="rate"),
            Column(key="difference", label="Diff", kind="rate"),
            Column(key="p_value", label="p", kind="number"),
            Column(key="test", label="Test", kind="text"),
            Column(key="verdict", label="Verdict", kind="text"),
        )
        rows = tuple(
            (
                e.experiment,
                "(holdout)" if v.variant is None else v.variant,
                *(getattr(v, c.key) for c in columns[2:]),
            )
            for e in self.experiments
            for v in e.variants
        )
        title = (
            f"Experiments (a comparison needs {self.min_leads} leads per arm and "
            f"{self.min_conversions} goals in all)"
        )
        return (ReportTable(name="experiments", title=title, columns=columns, rows=rows),)


class ExperimentsTally:
    """The arms being counted, lead by lead."""

    def __init__(self, query: ReportQuery) -> None:
        self.query = query
        self.period = query.period()
        self.arms: dict[str, dict[str | None, list[int]]] = {}
        """Experiment → variant → [leads, conversions]."""

    def add_lead(self, facts: Sequence[Fact]) -> None:
        variants: dict[str, str | None] = {}
        converted: set[str] = set()
        for assigned in facts:
            if assigned.kind != "variant_assigned" or not self.period.covers(assigned.at):
                continue
            experiment = str(assigned.get("experiment"))
            variant = assigned.get("variant")
            variants.setdefault(experiment, None if variant is None else str(variant))
            if _reached_goal(assigned, facts):
                converted.add(experiment)
        for experiment, variant in variants.items():
            arm = self.arms.setdefault(experiment, {}).setdefault(variant, [0, 0])
            arm[0] += 1
            arm[1] += experiment in converted

    def result(self) -> ExperimentsReport:
        return ExperimentsReport(
            since=self.query.since,
            until=self.query.until,
            experiments=tuple(_experiment(name, self.arms[name]) for name in sorted(self.arms)),
        )


def _reached_goal(assigned: Fact, facts: Sequence[Fact]) -> bool:
    return any(
        f.kind == "sequence_ended"
        and f.get("result") == "goal"
        and f.at >= assigned.at
        and f.get("sequence") == assigned.get("sequence")
        and f.get("enrolment") == assigned.get("enrolment")
        for f in facts
    )


def _experiment(name: str, arms: dict[str | None, list[int]]) -> ExperimentResult:
    names = sorted((v for v in arms if v is not None), key=str)
    order = [None, *names] if None in arms else names
    control = order[0]
    base = arms[control]
    return ExperimentResult(
        experiment=name,
        control=control,
        variants=tuple(_variant(v, arms[v], None if v == control else base) for v in order),
    )


def _variant(name: str | None, arm: list[int], control: list[int] | None) -> VariantResult:
    leads, conversions = arm
    interval = wilson_interval(conversions, leads)
    rate = ratio(conversions, leads)
    difference = p_value = None
    test: SignificanceTest | None = None
    verdict: Verdict = "control"
    if control is not None:
        base_rate = ratio(control[1], control[0])
        if rate is not None and base_rate is not None:
            difference = round(rate - base_rate, 4)
        samples = (conversions, leads, control[1], control[0])
        test = "z-test" if normal_enough(*samples) else "fisher-exact"
        p_value = (two_proportion_p if test == "z-test" else fisher_exact_p)(*samples)
        verdict = _verdict(arm, control, p_value)
    return VariantResult(
        variant=name,
        leads=leads,
        conversions=conversions,
        rate=rate,
        ci_low=None if interval is None else round(interval[0], 4),
        ci_high=None if interval is None else round(interval[1], 4),
        difference=difference,
        p_value=p_value,
        test=test,
        verdict=verdict,
    )


def _verdict(arm: list[int], control: list[int], p_value: float | None) -> Verdict:
    small = min(arm[0], control[0]) < MIN_LEADS or arm[1] + control[1] < MIN_CONVERSIONS
    if small or p_value is None:
        return "not enough data yet"
    return "significant" if p_value < ALPHA else "no significant difference"


def experiments(facts: Iterable[Fact], query: ReportQuery) -> ExperimentsReport:
    """The experiments report of ``facts`` (ordered by lead, of the kinds in ``KINDS``)."""
    return tally_facts(ExperimentsTally(query), facts).result()
