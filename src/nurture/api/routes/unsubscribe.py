"""``/u/{token}``: the unsubscribe link of every marketing email (public, no API key).

RFC 8058 one-click: a mailbox provider POSTs ``List-Unsubscribe=One-Click`` to the URL of
the ``List-Unsubscribe`` header and the person is unsubscribed at once, without login or
confirmation. The same POST comes from the button of the page a GET shows, so a person who
clicks the link in the body confirms with one more click, while link scanners and
prefetchers, which only GET, unsubscribe nobody.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from nurture.adapters.ledger import SendLedger
from nurture.adapters.links.links import UNSUBSCRIBE
from nurture.adapters.links.tokens import TokenError
from nurture.adapters.temporal.gateway import LeadGateway
from nurture.api.deps import ApiContext, get_context, get_gateway, get_ledger, rate_limited
from nurture.api.pages import Token
from nurture.services.unsubscribe import unsubscribe

__all__ = ["router"]

router = APIRouter(
    prefix="/u", tags=["unsubscribe"], dependencies=[Depends(rate_limited("unsubscribe"))]
)

_ONE_CLICK = b"List-Unsubscribe=One-Click"


@router.get(
    "/{token}",
    response_class=HTMLResponse,
    summary="Unsubscribe page (changes nothing)",
    responses={400: {"description": "Invalid link"}},
)
async def unsubscribe_page(
    token: Token, context: Annotated[ApiContext, Depends(get_context)]
) -> HTMLResponse:
    """A page with one button that POSTs to this same URL."""
    company = context.project.brand.company
    try:
        context.signer.verify(token, UNSUBSCRIBE, datetime.now(UTC))
    except TokenError:
        return _invalid(context)
    body = (
        f"<h1>Unsubscribe from {escape(company)}</h1>"
        "<p>You will get no more marketing emails from us. Emails you ask for (a download "
        "you request, say) still reach you.</p>"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return context.pages.legacy(body)


@router.post(
    "/{token}",
    response_class=HTMLResponse,
    summary="Unsubscribe now (RFC 8058 one-click)",
    responses={400: {"description": "Invalid link"}},
)
async def unsubscribe_now(
    token: Token,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
    ledger: Annotated[SendLedger, Depends(get_ledger)],
) -> HTMLResponse:
    """Suppress the address and tell the lead; a repeat answers the same."""
    company = context.project.brand.company
    body = await request.body()
    channel: Literal["one-click", "page"] = "one-click" if body.strip() == _ONE_CLICK else "page"
    try:
        await unsubscribe(token, channel, context.signer, ledger, gateway, datetime.now(UTC))
    except TokenError:
        return _invalid(context)
    done = (
        "<h1>You are unsubscribed</h1>"
        f"<p>{escape(company)} will send you no more marketing emails.</p>"
    )
    return context.pages.legacy(done)


def _invalid(context: ApiContext) -> HTMLResponse:
    company = context.project.brand.company
    body = (
        "<h1>This link is not valid</h1><p>It may be incomplete: copy the whole link from the "
        f"email, or reply to it asking {escape(company)} to unsubscribe you.</p>"
    )
    return context.pages.legacy(body, 400)
