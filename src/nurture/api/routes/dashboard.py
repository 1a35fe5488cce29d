"""``GET /reports``: the reports dashboard, a page for marketing managers.

It shows what ``GET /v1/reports/{name}`` answers (the same reports service, the same
parameters), as charts beside tables, in English or French. A browser cannot send an API
key header by itself, so besides a key with the ``reports`` scope (``X-API-Key``) the page
takes the signed, expiring token of the link ``nurture report open`` prints, and keeps it
in its own form so that changing the range keeps the access.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.responses import HTMLResponse
from fastapi.security import APIKeyHeader

from nurture.adapters.factlog import FactStore
from nurture.adapters.links.tokens import TokenError, TokenExpired
from nurture.api.access import API_KEY, REPORTS_LINK
from nurture.api.dashboard.i18n import Language, choose_language
from nurture.api.dashboard.page import (
    CSP,
    GROUPINGS,
    DashboardRequest,
    dashboard_asks,
    dashboard_sections,
    render_dashboard,
)
from nurture.api.dashboard.scoring import scoring_section
from nurture.api.dashboard.view import Section
from nurture.api.deps import ApiContext, get_context, get_fact_store
from nurture.errors import ConfigError
from nurture.services.dashboard_link import verify_dashboard_token
from nurture.services.reports import ReportParamError
from nurture.services.scoring_backtest import BacktestCache

__all__ = ["router"]


async def _scoring(
    cache: BacktestCache, store: FactStore, since: date | None, lang: Language
) -> Section:
    """The scoring section; a model file that cannot be read is said in it, not a 500."""
    try:
        result = await cache.run(store, since)
    except ConfigError as exc:
        return scoring_section(None, cache.candidate_name(), lang, str(exc))
    return scoring_section(result.model_dump(mode="json"), cache.candidate_name(), lang)


router = APIRouter(tags=["reports"])

_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def _denied(context: ApiContext, key: str | None, token: str | None) -> tuple[int, str] | None:
    """Why the request may not see the reports (its status and the text key saying why),
    or ``None``: as on the API, a key without the scope is a 403, no access a 401."""
    entry = context.key_entry(key)
    if entry is not None and entry.allows("reports"):
        return None
    if token:
        try:
            verify_dashboard_token(context.signer, token, datetime.now(UTC))
        except TokenExpired:
            return 401, "denied.expired"
        except TokenError:
            return 401, "denied.body"
        return None
    return (401, "denied.body") if entry is None else (403, "denied.scope")


@router.get(
    "/reports",
    response_class=HTMLResponse,
    summary="The reports dashboard (HTML)",
    # Checked below, not by a dependency: a denial is a page in the reader's language.
    openapi_extra={"security": [{API_KEY: ["reports"]}, {REPORTS_LINK: []}]},
    responses={
        400: {"description": "A bad date"},
        401: {"description": "No key or link, or an expired link"},
        403: {"description": "A key without the reports scope"},
    },
)
async def reports_dashboard(
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[FactStore, Depends(get_fact_store)],
    key: Annotated[str | None, Security(_key_header)] = None,
    token: Annotated[str | None, Query(max_length=2048)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    by: Annotated[str, Query(max_length=32)] = "source",
    lang: Annotated[str | None, Query(max_length=8)] = None,
) -> HTMLResponse:
    """The funnel, conversion by ``by`` and by cohort, velocity, sales, emails, sequences,
    experiments and cost over leads created from ``since`` to ``until`` (excluded)."""
    accept = request.headers.get("accept-language")
    language = Language(choose_language(lang, accept, context.project.defaults.locale))
    company = context.project.brand.company
    denial = _denied(context, key, token)
    if denial is not None:
        status, why = denial
        title, text = language.t("denied.title"), language.t(why)
        return context.pages.message(language.code, title, text, status)
    ask = DashboardRequest(
        since=since or None,
        until=until or None,
        by=by if by in GROUPINGS else GROUPINGS[0],
        lang=language,
        token=token if context.key_entry(key) is None else None,
    )
    try:
        asks = dashboard_asks(ask, context.report_config)
    except ReportParamError as exc:
        html = render_dashboard(ask, company, [], error=str(exc))
        return HTMLResponse(html, 400, headers=_HEADERS)
    figures = await context.report_cache.run(store, asks)
    sections = dashboard_sections(figures.results, ask)
    if context.backtest is not None:
        sections.append(await _scoring(context.backtest, store, asks[0][1].since, language))
    html = render_dashboard(ask, company, sections, computed_at=figures.computed_at)
    return HTMLResponse(html, headers=_HEADERS)
