"""``GET /v1/scoring/backtest``: the scoring back-test the dashboard shows, as JSON (API
key with the ``reports`` scope): the current model against ``config/scoring.candidate.toml``
(or itself when there is none). ``nurture scoring backtest FILE`` takes any candidate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError

from nurture.adapters.factlog import FactStore
from nurture.api.deps import ApiContext, get_context, get_fact_store, require_scope
from nurture.domain.reports.backtest import BacktestReport
from nurture.errors import ConfigError
from nurture.services.reports import ReportParamError, parse_day

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/scoring", tags=["reports"], dependencies=[Depends(require_scope("reports"))]
)


@router.get(
    "/backtest",
    response_model=BacktestReport,
    summary="Back-test the scoring model",
    responses={503: {"description": "A scoring model file cannot be read"}},
)
async def backtest(
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[FactStore, Depends(get_fact_store)],
    since: Annotated[
        str | None, Query(description="Only leads created on or after this day, YYYY-MM-DD.")
    ] = None,
) -> BacktestReport:
    """Every recorded lead scored by the current model and the candidate, held against
    what sales decided (see ``nurture scoring backtest``)."""
    try:
        first = parse_day("since", since)
    except ReportParamError as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", exc.param), "msg": exc.message}]
        ) from exc
    if context.backtest is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no scoring model is configured")
    try:
        return await context.backtest.run(store, first)
    except ConfigError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
