"""Reports over the facts log: pure functions of a lead's facts, one module per report
(``funnel``, ``velocity``, ``sales``, ``emails``, ``experiments``, ``cost``), each with the
fact kinds it reads (``KINDS``), its frozen result model and its accumulator; ``registry``
lists them by name. Reading the facts store is the reports service's job."""

from nurture.domain.reports.common import (
    FUNNEL_STAGES,
    Column,
    LeadTally,
    ReportQuery,
    ReportResult,
    ReportTable,
)
from nurture.domain.reports.costs import Costs, Spend
from nurture.domain.reports.registry import REPORT_NAMES, REPORTS, AnyReport, ReportSpec

__all__ = [
    "FUNNEL_STAGES",
    "REPORTS",
    "REPORT_NAMES",
    "AnyReport",
    "Column",
    "Costs",
    "LeadTally",
    "ReportQuery",
    "ReportResult",
    "ReportSpec",
    "ReportTable",
    "Spend",
]
