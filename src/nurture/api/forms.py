"""``POST /v1/forms/{form_id}``: public, for landing pages and plain HTML forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from nurture.api.deps import ApiContext, get_context, get_gateway, rate_limited
from nurture.api.errors import body_errors
from nurture.identity import lead_id_for
from nurture.intake import FormPost, blank_to_none, choose_locale, to_submission
from nurture.leads import LeadGateway

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/forms", tags=["forms"], dependencies=[Depends(rate_limited("forms"))]
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
    responses={404: {"description": "Unknown form"}, 422: {"description": "Invalid field"}},
)
async def submit_form(
    form_id: str,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
) -> Accepted:
    """Accept a form post (JSON or urlencoded); 202 once Temporal durably holds it."""
    form = context.project.forms.get(form_id)
    if form is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown form {form_id!r}")
    post = _validated(await _body(request))
    locale = choose_locale(
        post.locale,
        form,
        request.headers.get("accept-language"),
        context.locales,
        context.project.defaults,
    )
    submission = to_submission(
        post, form_id, form, locale, context.project.defaults, datetime.now(UTC)
    )
    lead_id = lead_id_for(post.email, context.id_key, post.crm_id)
    await gateway.submit_form(lead_id, submission)
    return Accepted(lead_id=lead_id, submission_id=submission.submission_id)


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
        return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        "send application/json or application/x-www-form-urlencoded",
    )


def _validated(data: dict[str, Any]) -> FormPost:
    try:
        return FormPost.model_validate(blank_to_none(data))
    except ValidationError as exc:
        raise body_errors(exc) from exc


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "invalid"}])
