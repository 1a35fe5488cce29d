"""``POST /v1/forms/{form_id}``: public, for landing pages and plain HTML forms."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError

from nurture.adapters.temporal.gateway import LeadGateway
from nurture.api.bodies import UndecodableField, UnsupportedCharset, form_fields
from nurture.api.deps import (
    ApiContext,
    client_address,
    get_context,
    get_gateway,
    rate_limited,
)
from nurture.api.errors import body_errors
from nurture.api.retry import RetryKey, retry_key, retry_key_responses
from nurture.api.routes.form_pages import error_page, thanks_redirect, wants_page
from nurture.api.security import check_signature
from nurture.config.project import RESERVED_FIELDS, FormConfig, ProjectConfig
from nurture.domain.fields import FieldProblems, FieldValue, custom_values
from nurture.domain.identity import lead_id_for
from nurture.services.form_guard import FormTokenProblem, spam_reason
from nurture.services.intake import (
    Client,
    FormPost,
    address_problem,
    blank_to_none,
    choose_locale,
    to_submission,
)

__all__ = ["SUBMISSION_HEADER", "router"]

log = logging.getLogger("nurture.api")


async def signed_post(
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    x_nurture_timestamp: Annotated[str | None, Header()] = None,
    x_nurture_signature: Annotated[str | None, Header()] = None,
) -> None:
    """Check a signed post (``X-Nurture-Timestamp``, ``X-Nurture-Signature``, as for mail
    reports, under ``NURTURE_FORM_WEBHOOK_SECRET``): a valid one skips the rate limit, a
    bad one is refused, and a form marked ``signed`` takes nothing else."""
    form = context.project.forms.get(request.path_params.get("form_id", ""))
    if x_nurture_timestamp is None and x_nurture_signature is None:
        if form is not None and form.signed:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                f"form {request.path_params['form_id']!r} takes signed posts only",
            )
        return
    if context.form_secret is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "signed form posts are not enabled: set NURTURE_FORM_WEBHOOK_SECRET",
        )
    check_signature(
        context.form_secret, x_nurture_timestamp, x_nurture_signature, await request.body()
    )
    request.state.signed = True


SUBMISSION_HEADER = "X-Nurture-Submission-Id"
submission_key = retry_key("submission_id", SUBMISSION_HEADER)
router = APIRouter(
    prefix="/v1/forms",
    tags=["forms"],
    # The id first: every answer carries it, a 401 or a 429 too.
    dependencies=[Depends(submission_key), Depends(signed_post), Depends(rate_limited("forms"))],
)

_FORM_SCHEMA = FormPost.model_json_schema(ref_template="#/components/schemas/{model}")


class Accepted(BaseModel):
    """The lead the submission landed on, and the id that makes a retry harmless."""

    lead_id: str
    submission_id: str


@router.post(
    "/{form_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Submit a web form",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _FORM_SCHEMA},
                "application/x-www-form-urlencoded": {"schema": _FORM_SCHEMA},
            },
        }
    },
    responses={
        303: {"description": "A browser's post: to the thank-you page (or thank_you_url)"},
        404: {"description": "Unknown form"},
        422: {"description": "Invalid field (a page naming them, for a browser)"},
        **retry_key_responses("submission_id", SUBMISSION_HEADER),
    },
)
async def submit_form(
    form_id: str,
    request: Request,
    response: Response,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
    key: Annotated[RetryKey, Depends(submission_key)],
) -> Accepted | Response:
    """Accept a form post (JSON or urlencoded); 202 once Temporal durably holds it. Every
    answer, errors included, carries the submission id to retry with. A browser's post
    (see ``form_pages``) gets a 303 to the thank-you page, or a page naming bad fields."""
    form = context.project.forms.get(form_id)
    browser = wants_page(request)
    data: dict[str, Any] = {}
    try:
        if form is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown form {form_id!r}")
        data = await _body(request)
        key.adopt(data.get("submission_id"))
        accepted, locale = await _accept(form_id, form, data, request, context, gateway, key)
    except (RequestValidationError, HTTPException, RPCError) as exc:
        if not browser:
            raise
        asked = data.get("locale") or (form.locale if form else None)
        page = _error_page(exc, str(asked or ""), request, context)
        key.stamp(page)
        return page
    if browser and form is not None:
        lang = context.pages.language(locale, request.headers.get("accept-language"))
        redirect = thanks_redirect(form_id, form, lang)
        key.stamp(redirect)
        return redirect
    key.stamp(response)
    return accepted


def _error_page(
    exc: RequestValidationError | HTTPException | RPCError,
    asked: str,
    request: Request,
    context: ApiContext,
) -> Response:
    """What a browser gets instead of an error's JSON, in the visitor's language."""
    if isinstance(exc, RPCError):  # a person cannot retry with the id: say to send again
        log.error("Temporal call failed: %s (%s)", exc.message, exc.status)
        exc = HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "unavailable")
    lang = context.pages.language(asked, request.headers.get("accept-language"))
    return error_page(context, request, lang, exc)


async def _accept(
    form_id: str,
    form: FormConfig,
    data: dict[str, Any],
    request: Request,
    context: ApiContext,
    gateway: LeadGateway,
    key: RetryKey,
) -> tuple[Accepted, str]:
    """The lead the post lands on, and its locale; a bot's post (``form_guard``) gets the
    same answer, but no lead hears of it."""
    post, custom = _validated(data, form, context.project)
    problem = address_problem(post.email, context.smtputf8)
    if problem:
        raise _invalid("email", problem)
    signed = getattr(request.state, "signed", False)
    try:
        spam = spam_reason(form_id, form, data, context.signer, datetime.now(UTC), signed=signed)
    except FormTokenProblem as exc:
        raise _invalid(exc.field, exc.message) from exc
    locale = choose_locale(
        post.locale,
        form,
        request.headers.get("accept-language"),
        context.locales,
        context.project.defaults,
    )
    lead_id = lead_id_for(post.email, context.id_key, post.crm_id)
    if spam is None:
        submission = to_submission(
            post,
            form_id,
            form,
            locale,
            context.project.defaults,
            datetime.now(UTC),
            _client(request),
            submission_id=key.value,
            custom=custom,
        )
        await gateway.submit_form(lead_id, submission)
    return Accepted(lead_id=lead_id, submission_id=key.value), locale


def _client(request: Request) -> Client:
    client = Client(
        ip=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    if getattr(request.state, "signed", False):
        # A signed server post speaks for the visitor it relays.
        client = Client(
            ip=request.headers.get("x-nurture-client-ip") or client.ip,
            user_agent=request.headers.get("x-nurture-client-user-agent") or client.user_agent,
        )
    return client


async def _body(request: Request) -> dict[str, Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = await request.json()
        except ValueError as exc:
            raise _invalid("(body)", "body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise _invalid("(body)", "body must be a JSON object")
        return data
    if kind in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        try:
            return form_fields(request.headers["content-type"], await request.body())
        except UnsupportedCharset as exc:
            raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(exc)) from exc
        except UndecodableField as exc:
            raise _invalid(exc.field, exc.message) from exc
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        "send application/json or application/x-www-form-urlencoded",
    )


def _validated(
    data: dict[str, Any], form: FormConfig, project: ProjectConfig
) -> tuple[FormPost, dict[str, FieldValue]]:
    """The post and its custom fields, or one 422 naming every bad field at once."""
    errors: list[Any] = []
    post = custom = None
    try:
        post = FormPost.model_validate(blank_to_none(data))
    except ValidationError as exc:
        errors += body_errors(exc).errors()
    try:
        custom = custom_values(data, project.fields)
    except FieldProblems as refused:
        errors += [_problem(p.field, p.rule) for p in refused.problems]
    if project.defaults.unknown_fields == "refuse":
        known = RESERVED_FIELDS | set(project.fields) | {form.honeypot}
        errors += [
            _problem(name, "is not a field this service takes")
            for name in data
            if name not in known
        ]
    if errors or post is None or custom is None:
        raise RequestValidationError(errors)
    return post, custom


def _problem(field: str, message: str) -> dict[str, Any]:
    return {"loc": ("body", field), "msg": message, "type": "invalid"}


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([_problem(field, message)])
