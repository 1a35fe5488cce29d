"""``/s/desk/{token}``: a rep's open leads with their deadlines, and the pool they may take
leads from, reached from the link in every alert to them (no API key, no login).

Both lists come from visibility (``NurtureOwner``, ``NurtureAcceptBy``); each row names
the lead as its page does and links to that page, signed for this rep. Taking a lead from
the pool is a POST of the row's button (anti-forgery field, an id served with the page):
the same Accept as on the lead's page, refused past the rep's capacity.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nurture.adapters.links.links import rep_lead_path
from nurture.adapters.links.tokens import TokenError
from nurture.adapters.temporal.gateway import ActionRefused, LeadGateway, LeadNotFound
from nurture.adapters.temporal.visibility import ListRefused
from nurture.api.deps import ApiContext, get_context, get_gateway, rate_limited
from nurture.api.pages import Token
from nurture.api.routes.sales_pages import (
    Problem,
    over_capacity,
    page_language_of,
    posted_form,
    problem_page,
    rep_access,
)
from nurture.domain.lead.listing import LeadFilters, LeadRow
from nurture.domain.lifecycle import Stage
from nurture.domain.sales.handoff import open_handoff
from nurture.domain.sales.records import SalesAction
from nurture.services.rep_desk import RepAccess, form_token, in_pool

__all__ = ["router"]

router = APIRouter(
    prefix="/s", tags=["sales pages"], dependencies=[Depends(rate_limited("sales-pages"))]
)

_SHOWN = 50
"""Rows of each list on the page: a rep's own leads fit (capacity is 30 by default)."""
_NOTICE = "rep-notice"
_NOTICE_VALIDITY = timedelta(minutes=10)
_QUERIES = 8
"""Lead queries in flight while a page is built."""


@router.get("/desk/{token}", response_class=HTMLResponse)
async def desk_page(
    token: Token,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
    notice: Annotated[str | None, Query(max_length=1024)] = None,
) -> HTMLResponse:
    """The rep's open leads, soonest deadline first, and the pool."""
    try:
        access = rep_access(context, token, desk=True)
        assert access.rep is not None
        mine = await _rows(gateway, LeadFilters(owner=access.rep.id))
        pool = await _rows(gateway, LeadFilters(stage=Stage.SQL, unowned=True))
    except Problem as problem:
        return problem_page(context, request, problem)
    except ListRefused:
        return problem_page(context, request, Problem(503, "rep.unlisted"))
    now = datetime.now(UTC)
    expires = access.links_expire(now, context.rep_link_validity)
    return context.pages.render(
        "rep/desk.html",
        page_language_of(context, request),
        zone=access.rep.timezone,
        access=access,
        mine=sorted(mine, key=lambda r: (r[0].accept_by is None, r[0].accept_by or now)),
        pool=pool,
        link=lambda lead_id: rep_lead_path(context.signer, access.actor, lead_id, expires),
        now=now,
        open_count=(await gateway.open_leads()).get(access.rep.id, 0),
        csrf=form_token(context.signer, token, now),
        action_id=uuid.uuid4().hex,
        refused=_notice_text(context, notice, now),
    )


@router.post("/desk/{token}", response_class=HTMLResponse)
async def take_from_pool(
    token: Token,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
) -> Response:
    """Accept a lead of the pool as this rep; on to its page, or back here with why not."""
    try:
        access = rep_access(context, token, desk=True)
        fields = await posted_form(request, context, token)
        lead_id = fields.get("lead_id", "")
        refused = await _take(gateway, access, lead_id, fields.get("action_id"))
    except Problem as problem:
        return problem_page(context, request, problem)
    if refused:
        # Signed, so no one can put words of their own in the page's "Not done" box.
        expires = datetime.now(UTC) + _NOTICE_VALIDITY
        signed = context.signer.sign(_NOTICE, {"m": refused[:300]}, expires)
        return RedirectResponse(
            request.url.path + "?" + urlencode({"notice": signed}), status_code=303
        )
    expires = access.links_expire(datetime.now(UTC), context.rep_link_validity)
    path = rep_lead_path(context.signer, access.actor, lead_id, expires)
    return RedirectResponse(f"{path}?done=accept", status_code=303)


def _notice_text(context: ApiContext, notice: str | None, now: datetime) -> str | None:
    """Why a take was refused, from the redirect's signed notice (ignored if not ours)."""
    if not notice:
        return None
    try:
        return str(context.signer.verify(notice, _NOTICE, now).get("m") or "") or None
    except TokenError:
        return None


async def _take(
    gateway: LeadGateway, access: RepAccess, lead_id: str, action_id: str | None
) -> str | None:
    """Why the lead was not taken, or ``None`` once it is this rep's."""
    assert access.rep is not None
    try:
        action = SalesAction(action="accept", actor=access.rep.id, action_id=action_id or None)
        view = await gateway.get_lead(lead_id)
    except ValueError as exc:  # a malformed action id: not from our page
        raise Problem(403, "rep.forged") from exc
    except LeadNotFound:
        return "this lead no longer exists"
    # Only a pool lead is anyone's to take (another rep's lead stays theirs); a repeated
    # click finds it theirs already, and the workflow answers it as the first.
    owner = open_handoff(view.handoffs)
    if not in_pool(view) and not (owner and owner.owner == access.rep.id):
        return "this lead is not in the pool any more"
    refused = None if not in_pool(view) else await over_capacity(gateway, access.rep)
    if refused:
        return refused
    try:
        await gateway.act(lead_id, action)
    except ActionRefused as exc:
        return str(exc)
    except LeadNotFound:
        return "this lead no longer exists"
    return None


async def _rows(gateway: LeadGateway, filters: LeadFilters) -> list[tuple[LeadRow, str]]:
    """The first rows of a list, each with the lead's label (its page's name for it)."""
    page = await gateway.list_leads(filters, _SHOWN, None)
    gate = asyncio.Semaphore(_QUERIES)
    labels = await asyncio.gather(*(_label(gateway, row.lead_id, gate) for row in page.leads))
    return list(zip(page.leads, labels, strict=True))


async def _label(gateway: LeadGateway, lead_id: str, gate: asyncio.Semaphore) -> str:
    """The lead's label: a query to its workflow (names are not search attributes), a few
    at a time, so one page view never makes a burst of work for the workers."""
    async with gate:
        try:
            return (await gateway.get_lead(lead_id)).label
        except LeadNotFound:
            return lead_id
