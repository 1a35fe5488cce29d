"""``POST /v1/webhooks/mail-reports``: bounces and complaints from the sending provider.

Authenticated by an HMAC-SHA256 signature of the timestamp and the raw body under
``NURTURE_WEBHOOK_SECRET``: ``X-Nurture-Timestamp: <unix seconds>`` and
``X-Nurture-Signature: sha256=<hex of HMAC(secret, "<timestamp>." + body)>``. A request
older or newer than five minutes is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from nurture.adapters.ledger import SendLedger
from nurture.adapters.temporal.gateway import LeadGateway
from nurture.api.access import SIGNATURE
from nurture.api.deps import ApiContext, get_context, get_gateway, get_ledger
from nurture.api.errors import body_errors
from nurture.api.security import check_signature
from nurture.domain.signing import signature
from nurture.services.mail_reports import MailReport, ReportOutcome, apply_report

__all__ = ["router", "signature"]

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post(
    "/mail-reports",
    response_model=ReportOutcome,
    summary="Report a bounce or a complaint",
    openapi_extra={
        "security": [{SIGNATURE: []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": MailReport.model_json_schema()}},
        },
    },
    responses={
        401: {"description": "Missing, invalid or stale signature"},
        503: {"description": "NURTURE_WEBHOOK_SECRET is not set"},
    },
)
async def mail_report(
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
    ledger: Annotated[SendLedger, Depends(get_ledger)],
    x_nurture_timestamp: Annotated[str | None, Header()] = None,
    x_nurture_signature: Annotated[str | None, Header()] = None,
) -> ReportOutcome:
    """Complaint: unsubscribed. Hard bounce: suppressed. Soft bounces: counted, suppressed
    at the limit. 5.7.x: logged for the operator, nobody suppressed. Repeats are harmless."""
    if context.webhook_secret is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "mail reports are not enabled: set NURTURE_WEBHOOK_SECRET",
        )
    body = await request.body()
    check_signature(context.webhook_secret, x_nurture_timestamp, x_nurture_signature, body)
    try:
        report = MailReport.model_validate(json.loads(body))
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "the body is not JSON", "type": "json_invalid"}]
        ) from exc
    except ValidationError as exc:
        raise body_errors(exc) from exc
    return await apply_report(
        report,
        ledger,
        gateway,
        context.id_key,
        datetime.now(UTC),
        context.soft_bounce_limit,
        timedelta(days=context.soft_bounce_window_days),
    )
