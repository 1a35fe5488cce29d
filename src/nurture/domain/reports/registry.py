"""The reports nurture offers, by name: what the CLI, the API and the dashboard list.

Each entry says which fact kinds the report reads, how it may be grouped (``by``), whether
it needs the facts from before the range, and how to start counting it; the reports
service (``nurture.services.reports``) streams the facts store into it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated

from pydantic import Field

from nurture.domain.reports import cost, emails, experiments, funnel, sales, velocity
from nurture.domain.reports.common import LeadTally, ReportQuery, ReportResult

__all__ = ["REPORTS", "REPORT_NAMES", "AnyReport", "ReportSpec"]

AnyReport = Annotated[
    funnel.FunnelReport
    | velocity.VelocityReport
    | sales.SalesReport
    | emails.EmailsReport
    | experiments.ExperimentsReport
    | cost.CostReport,
    Field(discriminator="report"),
]
"""Any report's result, told apart by its ``report`` field (the API's answer)."""


@dataclass(frozen=True)
class ReportSpec:
    """One report: its name, what it reads and how it is counted."""

    name: str
    title: str
    summary: str
    kinds: tuple[str, ...]
    """The fact kinds it reads; the store is asked for those only."""
    result: type[ReportResult]
    tally: Callable[[ReportQuery], LeadTally]
    by: tuple[str, ...] = ()
    """The groupings ``by`` may name; empty: the report takes none."""
    from_start: bool = False
    """It reads the facts from before the range too (velocity and the funnel's ``entered``:
    when a lead FIRST reached a step); the others start reading at the range's first day."""


REPORTS: MappingProxyType[str, ReportSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            ReportSpec(
                name="funnel",
                title="Funnel",
                summary="Leads created in the range by the funnel steps they reached, and "
                "the leads that entered each step in the range",
                kinds=funnel.KINDS,
                result=funnel.FunnelReport,
                tally=funnel.FunnelTally,
                by=funnel.FUNNEL_BY,
                from_start=True,
            ),
            ReportSpec(
                name="velocity",
                title="Velocity",
                summary="Time between funnel steps, the sales cycle and the time to accept",
                kinds=velocity.KINDS,
                result=velocity.VelocityReport,
                tally=velocity.VelocityTally,
                from_start=True,
            ),
            ReportSpec(
                name="sales",
                title="Sales",
                summary="What sales did with the hand-offs of the range, per rep",
                kinds=sales.KINDS,
                result=sales.SalesReport,
                tally=sales.SalesTally,
            ),
            ReportSpec(
                name="emails",
                title="Emails and sequences",
                summary="Emails per template and sequence step, and sequence goals",
                kinds=emails.KINDS,
                result=emails.EmailsReport,
                tally=emails.EmailsTally,
            ),
            ReportSpec(
                name="experiments",
                title="Experiments",
                summary="Goal conversion per A/B variant against the control",
                kinds=experiments.KINDS,
                result=experiments.ExperimentsReport,
                tally=experiments.ExperimentsTally,
            ),
            ReportSpec(
                name="cost",
                title="Cost",
                summary="Cost per lead, MQL and customer, per source and month",
                kinds=cost.KINDS,
                result=cost.CostReport,
                tally=cost.CostTally,
            ),
        )
    }
)
"""Every report, in the order people read them."""

REPORT_NAMES: tuple[str, ...] = tuple(REPORTS)
