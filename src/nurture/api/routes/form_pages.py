"""What a person's browser gets from a form post, where a JSON client gets JSON: a ``303``
to the form's ``thank_you_url`` or to nurture's own thank-you page (a GET, so a reload or
Back never posts again), and a page naming each bad field; plus the rendered-at token a
form with ``min_fill_seconds`` carries.

A browser is told from a script by what it asks for: a form body (urlencoded or
multipart) with an ``Accept`` preferring ``text/html`` to JSON. curl (``*/*``), ``fetch``
and every JSON client keep the JSON answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from nurture.api.deps import ApiContext, get_context, rate_limited
from nurture.api.pages import words
from nurture.api.pages.texts import TEXTS
from nurture.config.project import RENDERED_FIELD, FormConfig
from nurture.services.form_guard import form_token

__all__ = ["FormToken", "error_page", "router", "thanks_redirect", "wants_page"]

_FORM_BODIES = ("application/x-www-form-urlencoded", "multipart/form-data")
_AT_MOST = re.compile(r"at most (\d+)")

router = APIRouter(tags=["forms"])


class FormToken(BaseModel):
    """The hidden field a form with ``min_fill_seconds`` posts: name and value."""

    field: str
    value: str


def wants_page(request: Request) -> bool:
    """A browser's form post: a form body, and ``text/html`` preferred to JSON."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in _FORM_BODIES or getattr(request.state, "signed", False):
        return False
    accept = request.headers.get("accept", "")
    return _quality(accept, "text", "html") > _quality(accept, "application", "json")


def _quality(accept: str, kind: str, sub: str) -> float:
    """The preference ``accept`` gives ``kind/sub``: its most specific range's ``q``."""
    best, found = -1, 0.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        major, _, minor = media.lower().partition("/")
        rank = {(kind, sub): 2, (kind, "*"): 1, ("*", "*"): 0}.get((major, minor), -1)
        if rank > best:
            best, found = rank, _q(params)
    return found


def _q(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def thanks_redirect(form_id: str, form: FormConfig, lang: str) -> RedirectResponse:
    """``303 See Other`` to where a person lands after a good post."""
    url = form.thank_you_url or f"/thanks/{quote(form_id)}?lang={lang}"
    return RedirectResponse(url, status.HTTP_303_SEE_OTHER)


@dataclass(frozen=True)
class _Problem:
    label: str
    rule: str
    detail: str | None


def error_page(
    context: ApiContext, request: Request, lang: str, exc: RequestValidationError | HTTPException
) -> HTMLResponse:
    """The page naming each bad field and its rule, with a way back to the form."""
    if isinstance(exc, HTTPException):
        known = f"form_errors.status.{exc.status_code}"
        text = words(lang, known) if known in TEXTS["en"] else str(exc.detail)
        problems = [_Problem(words(lang, "form_errors.other"), text, None)]
        code = exc.status_code
    else:
        problems = [_problem(lang, error) for error in exc.errors()]
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
    referer = request.headers.get("referer") or ""
    back = referer if urlsplit(referer).scheme in ("http", "https") else None
    return context.pages.render("form_errors.html", lang, code, problems=problems, back=back)


def _problem(lang: str, error: dict[str, Any]) -> _Problem:
    """A field's label and rule in ``lang``; pydantic's own words (English) are a detail
    for English readers."""
    field = ".".join(str(p) for p in error["loc"][1:]) or str(error["loc"][0])
    label = words(lang, f"field.{field}") if f"field.{field}" in TEXTS["en"] else field
    message, kind = str(error["msg"]), str(error["type"])
    english = lang == "en"
    if kind == "missing":
        return _Problem(label, words(lang, "form_errors.missing"), None)
    if kind == "invalid":  # a rule of nurture's own, an English sentence
        own = f"form_errors.own.{field}"
        rule = message if english or own not in TEXTS["en"] else words(lang, own)
        return _Problem(label, rule, None)
    if f"form_errors.field.{field}" in TEXTS["en"]:
        detail = message if english and field == "email" else None
        return _Problem(label, words(lang, f"form_errors.field.{field}"), detail)
    limit = _AT_MOST.search(message)
    if kind == "string_too_long" and limit:
        return _Problem(label, words(lang, "form_errors.too_long", limit=limit[1]), None)
    return _Problem(label, words(lang, "form_errors.invalid"), message if english else None)


@router.get(
    "/thanks/{form_id}",
    response_class=HTMLResponse,
    summary="Thank-you page after a browser's form post",
    responses={404: {"description": "Unknown form"}},
)
async def thanks(
    form_id: str,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    lang: Annotated[str | None, Query(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = None,
) -> HTMLResponse:
    """What the form promised, at once (the same link as its thank-you email)."""
    pages = context.pages
    form = context.project.forms.get(form_id)
    asked = lang or (form.locale if form else None)
    page_lang = pages.language(asked, request.headers.get("accept-language"))
    website = context.project.brand.website
    if form is None:
        return pages.message(
            page_lang,
            words(page_lang, "thanks.unknown_title"),
            words(page_lang, "thanks.unknown_body", website=website),
            status.HTTP_404_NOT_FOUND,
        )
    return pages.render(
        "form_thanks.html",
        page_lang,
        offer=form.offer,
        double_opt_in=form.double_opt_in,
        website=website,
    )


@router.get(
    "/v1/forms/{form_id}/token",
    response_model=FormToken,
    summary="The rendered-at field of a form with a minimum fill time",
    dependencies=[Depends(rate_limited("forms"))],
    responses={404: {"description": "Unknown form"}},
)
async def token(form_id: str, context: Annotated[ApiContext, Depends(get_context)]) -> FormToken:
    """Fetch it when the form is shown and post it as the hidden field it names; a form
    posted sooner than its ``min_fill_seconds`` after is dropped as a bot's."""
    if form_id not in context.project.forms:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown form {form_id!r}")
    value = form_token(context.signer, form_id, datetime.now(UTC))
    return FormToken(field=RENDERED_FIELD, value=value)
