"""``/v1/leads``: what sales and admins read about leads (API key required)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from nurture.adapters.factlog import FactStore
from nurture.adapters.ledger import SendLedger
from nurture.adapters.temporal.gateway import LeadGateway
from nurture.adapters.temporal.visibility import InvalidPageToken, ListRefused
from nurture.adapters.temporal.webhooks import WebhookPublisher
from nurture.api.deps import (
    ApiContext,
    get_context,
    get_fact_store,
    get_gateway,
    get_ledger,
    get_webhooks,
    lead_id_by_email,
    require_scope,
)
from nurture.api.errors import body_errors
from nurture.domain.lead.listing import MAX_PAGE_SIZE, LeadFilters, LeadPage
from nurture.domain.lead.view import LeadView
from nurture.domain.models import NormalisedEmail
from nurture.domain.sales.records import SalesAction
from nurture.services.erasure import ErasureReport, erase_lead

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/leads", tags=["leads"], dependencies=[Depends(require_scope("sales"))]
)
_ADMIN = [Depends(require_scope("admin"))]


class Lookup(BaseModel):
    """Find a lead by email (in the body, so addresses stay out of URLs and access logs)."""

    email: NormalisedEmail


class LeadListQuery(LeadFilters):
    """The filters, and which page of the list."""

    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = 25
    page_token: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,4096}$")] | None = None
    """The ``next_page_token`` of the page before."""


@router.get(
    "",
    response_model=LeadPage,
    summary="List leads",
    responses={503: {"description": "Temporal cannot list leads (search attributes missing)"}},
)
async def list_leads(
    query: Annotated[LeadListQuery, Query()],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
) -> LeadPage:
    """The open leads matching every filter given, a page at a time, from Temporal
    visibility: each row is the lead's search attributes (no email address)."""
    filters = LeadFilters.model_validate(query.model_dump(exclude={"page_size", "page_token"}))
    try:
        return await gateway.list_leads(filters, query.page_size, query.page_token)
    except InvalidPageToken as exc:
        error = {"loc": ("query", "page_token"), "msg": str(exc), "type": "value_error"}
        raise RequestValidationError([error]) from exc
    except ListRefused as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc


@router.get(
    "/{lead_id}",
    response_model=LeadView,
    summary="Show a lead",
    responses={404: {"description": "Unknown lead"}},
)
async def show_lead(
    lead_id: str, gateway: Annotated[LeadGateway, Depends(get_gateway)]
) -> LeadView:
    """Stage, score and its explanation, grade, temperature, transitions, emails."""
    return await gateway.get_lead(lead_id)


@router.post(
    "/lookup",
    response_model=LeadView,
    summary="Find a lead by email",
    responses={404: {"description": "Unknown lead"}},
)
async def lookup_lead(
    body: Lookup,
    request: Request,
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
) -> LeadView:
    """The same view as ``GET /v1/leads/{lead_id}``, for callers that only know the email."""
    return await gateway.get_lead(lead_id_by_email(request, body.email))


@router.delete(
    "/{lead_id}",
    dependencies=_ADMIN,
    response_model=ErasureReport,
    summary="Erase a lead",
    responses={404: {"description": "Unknown lead"}},
)
async def erase(
    lead_id: str,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
    ledger: Annotated[SendLedger, Depends(get_ledger)],
    facts: Annotated[FactStore, Depends(get_fact_store)],
    webhooks: Annotated[WebhookPublisher | None, Depends(get_webhooks)],
) -> ErasureReport:
    """Delete the lead's workflows and their histories, its send records, its facts and
    its outbox messages; keep only a keyed hash of its address on the suppression list
    (and, in the facts log, that one erasure happened that day, naming no one). Webhooks
    subscribed to ``erased`` are told the lead's id."""
    return await _erase(context, gateway, ledger, facts, webhooks, lead_id, None)


@router.post(
    "/erase",
    dependencies=_ADMIN,
    response_model=ErasureReport,
    summary="Erase a lead by email",
    responses={404: {"description": "Unknown lead and no address"}},
)
async def erase_by_email(
    body: Lookup,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
    ledger: Annotated[SendLedger, Depends(get_ledger)],
    facts: Annotated[FactStore, Depends(get_fact_store)],
    webhooks: Annotated[WebhookPublisher | None, Depends(get_webhooks)],
) -> ErasureReport:
    """The same as ``DELETE /v1/leads/{lead_id}`` for callers that only know the email; the
    address is suppressed even when no lead exists for it any more."""
    lead_id = lead_id_by_email(request, body.email)
    return await _erase(context, gateway, ledger, facts, webhooks, lead_id, body.email)


async def _erase(
    context: ApiContext,
    gateway: LeadGateway,
    ledger: SendLedger,
    facts: FactStore,
    webhooks: WebhookPublisher | None,
    lead_id: str,
    email: str | None,
) -> ErasureReport:
    now = datetime.now(UTC)
    return await erase_lead(
        gateway,
        ledger,
        facts,
        context.outbox,
        lead_id,
        email,
        context.id_key,
        now,
        announce=webhooks.publish_erasure if webhooks else None,
    )


class ActionBody(BaseModel):
    """Who acts, and why (reason is required to return or disqualify a lead); the rules
    tying the fields to the action are ``SalesAction``'s."""

    model_config = ConfigDict(extra="forbid")

    actor: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    """return-to-nurture: budget, authority, need, timing, no_response or other."""
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    revisit_after: date | None = None
    """return-to-nurture: no new hand-off before this date."""
    action_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")] | None = None
    """Retries with the same id apply once."""


ActionPath = Literal["accept", "return-to-nurture", "disqualify", "convert", "won", "lost"]


@router.post(
    "/{lead_id}/{action}",
    response_model=LeadView,
    summary="Act on a lead as sales",
    responses={
        404: {"description": "Unknown lead"},
        409: {"description": "Not possible in the lead's current stage; nothing recorded"},
        422: {"description": "Invalid field, or a field the action needs or refuses"},
    },
)
async def act_on_lead(
    lead_id: str,
    action: ActionPath,
    body: ActionBody,
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
) -> LeadView:
    """accept, return-to-nurture, disqualify, convert (to opportunity), won, lost."""
    try:
        # The action's own rules (a return's reason...) are input rules: a 422, not a 409.
        sales_action = SalesAction(action=action.replace("-", "_"), **body.model_dump())
    except ValidationError as exc:
        raise body_errors(exc) from exc
    return await gateway.act(lead_id, sales_action)
