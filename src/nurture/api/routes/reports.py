"""``/v1/reports``: the reports over the facts log, as JSON (API key with the ``reports``
scope). The same reports and parameters as ``nurture report``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict

from nurture.adapters.factlog import FactStore
from nurture.api.deps import ApiContext, get_context, get_fact_store, require_scope
from nurture.domain.reports import REPORTS, AnyReport, ReportResult
from nurture.services.reports import ReportParamError, UnknownReport, parse_query, run_report

__all__ = ["ReportInfo", "router"]

router = APIRouter(
    prefix="/v1/reports", tags=["reports"], dependencies=[Depends(require_scope("reports"))]
)


class ReportInfo(BaseModel):
    """One report nurture offers."""

    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    summary: str
    by: tuple[str, ...]
    """What ``by`` may name for it (empty: no grouping)."""


@router.get("", response_model=list[ReportInfo], summary="List the reports")
async def list_reports() -> list[ReportInfo]:
    """Every report ``GET /v1/reports/{name}`` answers, in the order people read them."""
    return [
        ReportInfo(name=spec.name, title=spec.title, summary=spec.summary, by=spec.by)
        for spec in REPORTS.values()
    ]


@router.get(
    "/{name}",
    response_model=AnyReport,
    summary="Run a report",
    responses={404: {"description": "Unknown report"}},
)
async def report(
    name: str,
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[FactStore, Depends(get_fact_store)],
    since: Annotated[
        str | None, Query(description="First day of the range, YYYY-MM-DD (UTC), included.")
    ] = None,
    until: Annotated[
        str | None,
        Query(description="Day after the range, YYYY-MM-DD, excluded; default: up to now."),
    ] = None,
    by: Annotated[
        str | None,
        Query(description="funnel only: source, form, utm_campaign or cohort (month created)."),
    ] = None,
) -> ReportResult:
    """The report ``name`` (funnel, velocity, sales, emails, experiments, cost) over the
    range: a bad parameter is a 422 naming it, an unknown report a 404."""
    try:
        query = parse_query(name, since, until, by, context.report_config)
    except UnknownReport as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except ReportParamError as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", exc.param), "msg": exc.message}]
        ) from exc
    return await run_report(name, store, query)
