"""Error responses: one shape for every 4xx, naming the field and the rule; no internals.

A request whose route settles a retry id (a form post, an event) gets it in every answer,
errors included, so a client can always retry safely; see ``nurture.api.retry``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi import HTTPException as FastApiHTTPException
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from temporalio.service import RPCError

from nurture.adapters.temporal.gateway import ActionRefused, LeadNotFound, LeadPending
from nurture.api.pages import PageRenderer, words
from nurture.api.retry import current_retry_key
from nurture.api.routes.form_pages import error_page, wants_page

__all__ = ["body_errors", "install_error_handlers"]

log = logging.getLogger("nurture.api")


def body_errors(exc: ValidationError) -> RequestValidationError:
    """A model validated by hand from a request body fails like FastAPI's own body
    validation (the same 422 shape, located in the body)."""
    return RequestValidationError(
        [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_context=False)]
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if _person_page(request):  # a link cut short by a mail client, say
            return _link_page(request, status.HTTP_400_BAD_REQUEST)
        key = current_retry_key(request)
        if key is not None and isinstance(exc.body, dict):
            key.adopt(exc.body.get(key.field))  # FastAPI refused the body before the route
        # FastAPI prefixes locations with "body"/"query"/"path": keep the field path only.
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]),
                "message": str(e["msg"]),
            }
            for e in exc.errors()
        ]
        return _answer(request, {"detail": errors}, status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _browser_form_post(request):  # refused before the route: too many, unsigned...
            return _form_error_page(request, exc)
        if _person_page(request):
            return _link_page(request, exc.status_code, exc.headers)
        if current_retry_key(request) is None:
            return await http_exception_handler(request, exc)
        return _answer(request, {"detail": exc.detail}, exc.status_code, exc.headers)

    @app.exception_handler(LeadNotFound)
    async def not_found(request: Request, exc: LeadNotFound) -> JSONResponse:
        email = getattr(request.state, "lead_email", None)  # see deps.lead_id_by_email
        if email:
            exc = exc.named_by(email)
        if isinstance(exc, LeadPending):
            # Accepted, not yet applied: still a 404 (there is nothing to show), but one a
            # client can tell from an unknown id, with when to look again.
            return _answer(
                request,
                {"detail": str(exc), "pending": True},
                status.HTTP_404_NOT_FOUND,
                {"Retry-After": "1"},
            )
        return _answer(request, {"detail": str(exc)}, status.HTTP_404_NOT_FOUND)

    @app.exception_handler(ActionRefused)
    async def refused(request: Request, exc: ActionRefused) -> JSONResponse:
        return _answer(request, {"detail": str(exc)}, status.HTTP_409_CONFLICT)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never a stack trace or an internal name in the answer: an id to find it in the log.
        error_id = uuid.uuid4().hex[:12]
        log.error("internal error %s", error_id, exc_info=exc)
        return _answer(
            request,
            {"detail": "internal error; nothing more is said here", "error_id": error_id},
            status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    @app.exception_handler(RPCError)
    async def temporal_down(request: Request, exc: RPCError) -> Response:
        log.error("Temporal call failed: %s (%s)", exc.message, exc.status)
        if _person_page(request):
            return _link_page(request, status.HTTP_503_SERVICE_UNAVAILABLE)
        return _answer(
            request, {"detail": _unanswered(request)}, status.HTTP_503_SERVICE_UNAVAILABLE
        )


_PERSON_PAGES = ("/s/", "/u/", "/c/", "/thanks/")
"""Paths people open from a link in a browser: their errors are pages, never JSON."""


def _person_page(request: Request) -> bool:
    return request.url.path.startswith(_PERSON_PAGES)


def _link_page(
    request: Request, status_code: int, headers: Mapping[str, str] | None = None
) -> Response:
    """The page of a link refused before its route: malformed, too many requests, or the
    service not answering, in the browser's language."""
    pages: PageRenderer = request.app.state.context.pages
    lang = pages.language(None, request.headers.get("accept-language"))
    key = {429: "too_many", 503: "unavailable"}.get(status_code, "invalid")
    page = pages.message(
        lang, words(lang, f"common.{key}_title"), words(lang, f"common.{key}_body"), status_code
    )
    page.headers.update(headers or {})
    return page


def _browser_form_post(request: Request) -> bool:
    return (
        request.method == "POST"
        and request.url.path.startswith("/v1/forms/")
        and wants_page(request)
    )


def _form_error_page(request: Request, exc: HTTPException) -> Response:
    """A person's browser gets the form's error page (in their language), not JSON."""
    context = request.app.state.context
    lang = context.pages.language(None, request.headers.get("accept-language"))
    refusal = FastApiHTTPException(exc.status_code, exc.detail, exc.headers)
    page = error_page(context, request, lang, refusal)
    page.headers.update(exc.headers or {})
    key = current_retry_key(request)
    if key is not None:
        key.stamp(page)
    return page


def _unanswered(request: Request) -> str:
    """What a client may know when Temporal did not answer: it may have stored the request
    before failing (a lost answer), so only a retry under the same id is safe."""
    key = current_retry_key(request)
    if key is None:
        return "the lead store did not answer; what was asked may or may not be done: retry later"
    return (
        "the lead store did not answer; this may or may not have been recorded: retry later "
        f"with the same {key.field}, {key.value!r}, and it counts once"
    )


def _answer(
    request: Request,
    content: dict[str, Any],
    status_code: int,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A JSON answer carrying the request's retry id, if it has one."""
    key = current_retry_key(request)
    if key is not None:
        content = {**content, key.field: key.value}
        headers = {**(headers or {}), key.header: key.value}
    return JSONResponse(content, status_code, headers=headers)
