"""``/c/{token}``: the link of a double opt-in confirmation email (public, no API key).

As with unsubscribing, a GET only shows a page whose button POSTs to the same URL: mail
scanners that open every link must not confirm a subscription the person never made, or
double opt-in would prove nothing. The POST records when, from which address and with
which browser the confirmation came, as the evidence of consent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from nurture.adapters.links.links import CONFIRM
from nurture.adapters.links.tokens import TokenError, TokenExpired
from nurture.adapters.temporal.gateway import LeadGateway, LeadNotFound
from nurture.api.deps import ApiContext, client_address, get_context, get_gateway, rate_limited
from nurture.api.pages import Token, words
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
    token: Token, request: Request, context: Annotated[ApiContext, Depends(get_context)]
) -> HTMLResponse:
    """A page with one button that POSTs to this same URL, in the lead's language."""
    fields = _verified(token, context, request)
    if isinstance(fields, HTMLResponse):
        return fields
    return context.pages.render("confirm.html", _language(context, request, fields), done=False)


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
    fields = _verified(token, context, request)
    if isinstance(fields, HTMLResponse):
        return fields
    confirmed = OptInConfirmed(
        submission_id=str(fields["s"]),
        at=datetime.now(UTC),
        ip=client_address(request),
        user_agent=(request.headers.get("user-agent") or "")[:512] or None,
    )
    lang = _language(context, request, fields)
    try:
        await gateway.tell(str(fields["l"]), confirmed)
    except LeadNotFound:
        return _expired(context, lang)
    return context.pages.render("confirm.html", lang, done=True)


def _language(context: ApiContext, request: Request, fields: dict[str, Any]) -> str:
    """The lead's language when the link says it, else the browser's, else the default."""
    locale = fields.get("lc")
    asked = locale if isinstance(locale, str) else None
    return context.pages.language(asked, request.headers.get("accept-language"))


def _verified(token: str, context: ApiContext, request: Request) -> dict[str, Any] | HTMLResponse:
    """The fields of a live confirmation token, else the page saying what is wrong."""
    try:
        return context.signer.verify(token, CONFIRM, datetime.now(UTC))
    except TokenExpired as exc:  # still signed by us: its locale may be trusted
        return _expired(context, _language(context, request, exc.fields))
    except TokenError:
        lang = _language(context, request, {})
        title, text = words(lang, "common.invalid_title"), words(lang, "confirm.invalid_body")
        return context.pages.message(lang, title, text, 400)


def _expired(context: ApiContext, lang: str) -> HTMLResponse:
    company = context.project.brand.company
    title = words(lang, "common.expired_title")
    text = words(lang, "confirm.expired_body", company=company)
    return context.pages.message(lang, title, text, 410)
