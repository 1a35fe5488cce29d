"""``/v1/leads``: what sales and admins read about a lead (API key required)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from nurture.api.deps import ApiContext, get_context, get_gateway, require_api_key
from nurture.identity import lead_id_for
from nurture.leads import LeadGateway
from nurture.models import NormalisedEmail
from nurture.views import LeadView

__all__ = ["router"]

router = APIRouter(prefix="/v1/leads", tags=["leads"], dependencies=[Depends(require_api_key)])


class Lookup(BaseModel):
    """Find a lead by email (in the body, so addresses stay out of URLs and access logs)."""

    email: NormalisedEmail


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
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
) -> LeadView:
    """The same view as ``GET /v1/leads/{lead_id}``, for callers that only know the email."""
    return await gateway.get_lead(lead_id_for(body.email, context.id_key))
