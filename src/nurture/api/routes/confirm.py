"""``/c/{token}``: the link of a double opt-in confirmation email (public, no API key).

As with unsubscribing, a GET only shows a page whose button POSTs to the same URL: mail
scanners that open every link must not confirm a subscription the person never made, or
double opt-in would prove nothing. The POST records when, from which address and with
which browser the confirmation came, as the evidence of consent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from nurture.adapters.links.links import CONFIRM
from nurture.adapters.links.tokens import TokenError, TokenExpired
from nurture.adapters.temporal.gateway import LeadGateway, LeadNotFound
from nurture.api.deps import ApiContext, client_address, get_context, get_gateway, rate_limited
from nurture.api.pages import Token
from nurture.domain.lead.messages import OptInConfirmed

__all__ = ["router"]

router = APIRouter(
    prefix="/c", tags=["double opt-in"], dependencies=[Depends(rate_limited("confirm"))]
)

_RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid link"},
    410: {"description": "Expired link"},
}


@router.get(
    "/{token}",
    response_class=HTMLResponse,
    summary="Confirmation page (changes nothing)",
    responses=_RESPONSES,
)
async def confirm_page(
    token: Token, context: Annotated[ApiContext, Depends(get_context)]
) -> HTMLResponse:
    """A page with one button that POSTs to this same URL."""
    company = context.project.brand.company
    fields = _verified(token, context)
    if isinstance(fields, HTMLResponse):
        return fields
    body = (
        f"<h1>Confirm your subscription to {escape(company)}</h1>"
        "<p>Press the button to start receiving our emails. You can unsubscribe from any "
        "of them with one click.</p>"
        '<form method="post"><button type="submit">Confirm my subscription</button></form>'
    )
    return context.pages.legacy(body)


@router.post(
    "/{token}",
    response_class=HTMLResponse,
    summary="Confirm a double opt-in",
    responses=_RESPONSES,
)
async def confirm_now(
    token: Token,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
) -> HTMLResponse:
    """Tell the lead its address confirmed; a repeat answers the same and changes nothing."""
    company = context.project.brand.company
    fields = _verified(token, context)
    if isinstance(fields, HTMLResponse):
        return fields
    confirmed = OptInConfirmed(
        submission_id=str(fields["s"]),
        at=datetime.now(UTC),
        ip=client_address(request),
        user_agent=(request.headers.get("user-agent") or "")[:512] or None,
    )
    try:
        await gateway.tell(str(fields["l"]), confirmed)
    except LeadNotFound:
        return _expired(context)
    done = (
        "<h1>Thank you, you are subscribed</h1>"
        f"<p>{escape(company)} will send you what you asked for shortly.</p>"
    )
    return context.pages.legacy(done)


def _verified(token: str, context: ApiContext) -> dict[str, Any] | HTMLResponse:
    """The fields of a live confirmation token, else the page saying what is wrong."""
    try:
        return context.signer.verify(token, CONFIRM, datetime.now(UTC))
    except TokenExpired:
        return _expired(context)
    except TokenError:
        body = (
            "<h1>This link is not valid</h1><p>It may be incomplete: copy the whole link from "
            "the email, or post the form again to get a new one.</p>"
        )
        return context.pages.legacy(body, 400)


def _expired(context: ApiContext) -> HTMLResponse:
    company = context.project.brand.company
    body = (
        "<h1>This link has expired</h1><p>Nothing was kept from your request. Post the form "
        f"again and {escape(company)} will send you a new link.</p>"
    )
    return context.pages.legacy(body, 410)
