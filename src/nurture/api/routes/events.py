"""``POST /v1/events``: behavioural events for a known lead (API key required)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Self

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from nurture.adapters.temporal.gateway import LeadGateway
from nurture.api.deps import (
    ApiContext,
    get_context,
    get_gateway,
    lead_id_by_email,
    require_scope,
)
from nurture.api.retry import RetryKey, retry_key, retry_key_responses
from nurture.domain.lead.messages import EventReceived
from nurture.domain.models import (
    EventType,
    LeadEvent,
    NormalisedEmail,
    PropertyKey,
    PropertyValue,
    RetryId,
)

__all__ = ["EVENT_HEADER", "router"]

EVENT_HEADER = "X-Nurture-Event-Id"
event_key = retry_key("event_id", EVENT_HEADER)
router = APIRouter(
    prefix="/v1/events",
    tags=["events"],
    # The id first: every answer carries it, a 401 too.
    dependencies=[Depends(event_key), Depends(require_scope("events"))],
)


class EventPost(BaseModel):
    """An event for the lead named by ``lead_id`` or ``email`` (exactly one of them)."""

    model_config = ConfigDict(extra="forbid")

    lead_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,68}$")] | None = None
    email: NormalisedEmail | None = None
    type: EventType
    occurred_at: AwareDatetime | None = None
    """When it happened; defaults to when the API received it."""
    properties: Annotated[dict[PropertyKey, PropertyValue], Field(max_length=50)] = {}
    event_id: RetryId | None = None
    """Send the same id on a retry and the event counts once (without one, the API makes
    one up and returns it, so the client can retry with it)."""

    @model_validator(mode="after")
    def _one_lead(self) -> Self:
        if (self.lead_id is None) == (self.email is None):
            raise ValueError("give exactly one of lead_id or email")
        return self


class EventAccepted(BaseModel):
    """Where the event went, under which id."""

    lead_id: str
    event_id: str


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventAccepted,
    summary="Record a behavioural event",
    responses={
        404: {"description": "Unknown lead"},
        401: {"description": "Bad API key"},
        **retry_key_responses("event_id", EVENT_HEADER),
        422: {"description": "Bad field, or an event type the configuration does not declare"},
    },
)
async def record_event(
    body: EventPost,
    request: Request,
    response: Response,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
    key: Annotated[RetryKey, Depends(event_key)],
) -> EventAccepted:
    """Hand the event to the lead's workflow; 202 once Temporal holds it. Every answer,
    errors included, carries the event id to retry with."""
    key.adopt(body.event_id)
    _check_type(context, body.type)
    lead_id = body.lead_id or lead_id_by_email(request, body.email or "")
    event = LeadEvent(
        id=key.value,
        type=body.type,
        occurred_at=body.occurred_at or datetime.now(UTC),
        properties=body.properties,
    )
    await gateway.tell(lead_id, EventReceived(event=event))
    key.stamp(response)
    return EventAccepted(lead_id=lead_id, event_id=event.id)


def _check_type(context: ApiContext, event_type: str) -> None:
    """Refuse a type no configuration declares, like a bad field, naming the near matches."""
    if context.event_types is None:
        return
    reason = context.event_types.current().why_unknown(event_type)
    if reason:
        error = {"type": "value_error", "loc": ("body", "type"), "msg": reason, "input": event_type}
        raise RequestValidationError([error])
