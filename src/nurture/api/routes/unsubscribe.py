"""``/u/{token}``: the unsubscribe link of every marketing email (public, no API key).

RFC 8058 one-click: a mailbox provider POSTs ``List-Unsubscribe=One-Click`` to the URL of
the ``List-Unsubscribe`` header and the person is unsubscribed at once, without login or
confirmation. The same POST comes from the button of the page a GET shows, so a person who
clicks the link in the body confirms with one more click, while link scanners and
prefetchers, which only GET, unsubscribe nobody.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from nurture.adapters.ledger import SendLedger
from nurture.adapters.links.links import UNSUBSCRIBE
from nurture.adapters.links.tokens import TokenError
from nurture.adapters.temporal.gateway import LeadGateway
from nurture.api.deps import ApiContext, get_context, get_gateway, get_ledger, rate_limited
from nurture.api.pages import Token, words
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
    token: Token, request: Request, context: Annotated[ApiContext, Depends(get_context)]
) -> HTMLResponse:
    """A page with one button that POSTs to this same URL, in the lead's language."""
    try:
        fields = context.signer.verify(token, UNSUBSCRIBE, datetime.now(UTC))
    except TokenError:
        return _invalid(context, request)
    lang = _language(context, request, fields.get("lc"))
    return context.pages.render("unsubscribe.html", lang, done=False)


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
    body = await request.body()
    channel: Literal["one-click", "page"] = "one-click" if body.strip() == _ONE_CLICK else "page"
    try:
        done = await unsubscribe(token, channel, context.signer, ledger, gateway, datetime.now(UTC))
    except TokenError:
        return _invalid(context, request)
    lang = _language(context, request, done.locale)
    return context.pages.render("unsubscribe.html", lang, done=True)


def _language(context: ApiContext, request: Request, locale: object) -> str:
    """The lead's language when the link says it, else the browser's, else the default."""
    asked = locale if isinstance(locale, str) else None
    return context.pages.language(asked, request.headers.get("accept-language"))


def _invalid(context: ApiContext, request: Request) -> HTMLResponse:
    """A link that does not verify says nothing about its lead: the browser's language."""
    lang = _language(context, request, None)
    company = context.project.brand.company
    return context.pages.message(
        lang,
        words(lang, "common.invalid_title"),
        words(lang, "unsubscribe.invalid_body", company=company),
        400,
    )
