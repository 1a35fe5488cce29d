"""``/o/{token}`` (open pixel) and ``/r/{token}`` (click redirect): public, no API key.

The pixel always answers the GIF and the redirect always redirects, to the target the token
signed, whatever happens to the event: a reader never sees an error because Temporal is
busy. An event is recorded at most once per email (open) or per link (click) for people,
and once more for machines (a ``HEAD``, a security scanner, Apple's privacy proxy: flagged
``machine``, under an id of their own); never for a client over the public rate limit. A
``HEAD`` is recorded like any machine fetch: its id caps it at one event per email or link
however often a token is replayed, as the rate limit caps the signals.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from temporalio.service import RPCError

from nurture.adapters.links.tokens import TokenError
from nurture.adapters.links.tracking import CLICK, OPEN, PIXEL_GIF
from nurture.adapters.temporal.gateway import LeadGateway, LeadNotFound
from nurture.api.deps import ApiContext, client_address, get_context, get_gateway
from nurture.api.pages import Token, words
from nurture.domain.lead.messages import EventReceived
from nurture.domain.models import LeadEvent
from nurture.domain.tracking import Fetch, click_event, machine_click, machine_open, open_event

__all__ = ["router"]

log = logging.getLogger("nurture.api.tracking")
router = APIRouter(tags=["tracking"])
_NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


@router.head("/o/{token}", include_in_schema=False)
@router.get(
    "/o/{token}",
    summary="Open pixel",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}, "description": "A 1x1 GIF, always"}},
)
async def open_pixel(
    token: Token,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
) -> Response:
    """The GIF; a valid token's first fetch per email becomes ``email_opened`` (a person's,
    or a machine's: Apple's privacy proxy, a scanner)."""
    now = datetime.now(UTC)
    try:
        opened = context.tracker.read(token, OPEN, now)
    except TokenError:
        opened = None
    if opened is not None and _within_rate(request, context):
        machine = machine_open(_fetch(request, now), context.project.tracking)
        await _record(gateway, opened.lead_id, open_event(opened, now, machine))
    return Response(PIXEL_GIF, media_type="image/gif", headers=_NO_STORE)


@router.head("/r/{token}", include_in_schema=False)
@router.get(
    "/r/{token}",
    summary="Click redirect",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "To the link's target"}, 400: {"description": "Invalid"}},
)
async def click_redirect(
    token: Token,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
) -> Response:
    """302 to the target signed in the token (never one from the request); the click
    becomes ``email_clicked``, flagged ``machine`` when a scanner made it."""
    now = datetime.now(UTC)
    try:
        clicked = context.tracker.read(token, CLICK, now)
    except TokenError:
        return _invalid(context, request)
    assert clicked.url is not None
    if _within_rate(request, context):
        machine = machine_click(clicked, _fetch(request, now), context.project.tracking)
        await _record(gateway, clicked.lead_id, click_event(clicked, now, machine))
    return RedirectResponse(clicked.url, status_code=302, headers=_NO_STORE)


def _fetch(request: Request, at: datetime) -> Fetch:
    return Fetch(
        at=at,
        method=request.method,
        user_agent=request.headers.get("user-agent"),
        address=client_address(request),
    )


def _within_rate(request: Request, context: ApiContext) -> bool:
    """False when this client is over the public rate: its events are not recorded (a
    replayed token must not flood a lead's history), but it still gets its answer."""
    return context.rate_wait(request, "tracking") <= 0


async def _record(gateway: LeadGateway, lead_id: str, event: LeadEvent) -> None:
    try:
        await gateway.tell(lead_id, EventReceived(event=event))
    except LeadNotFound:
        pass  # erased, or an expired unconfirmed lead: nothing to tell
    except RPCError as exc:
        log.error("%s not recorded for lead %s: %s", event.type, lead_id, exc.message)


def _invalid(context: ApiContext, request: Request) -> HTMLResponse:
    """The page of a tracking link that does not verify, in the browser's language."""
    pages = context.pages
    lang = pages.language(None, request.headers.get("accept-language"))
    website = context.project.brand.website
    text = words(lang, "tracking.invalid_body", website=website)
    return pages.message(lang, words(lang, "common.invalid_title"), text, 400)
