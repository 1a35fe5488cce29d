"""Shared resources for the routers, swapped in tests through ``dependency_overrides``."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from nurture.config import ProjectConfig
from nurture.leads import LeadGateway
from nurture.ledger import SendLedger
from nurture.tokens import TokenSigner

__all__ = ["ApiContext", "get_context", "get_gateway", "get_ledger", "require_api_key"]

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


@dataclass(frozen=True)
class ApiContext:
    """What every request may need, built once per app."""

    project: ProjectConfig
    locales: list[str]
    id_key: bytes
    api_keys: list[str]
    signer: TokenSigner
    """Checks the tokens of links in emails (unsubscribe)."""
    outbox: Path | None = None
    """The local SMTP sink's folder, if any (erasure cleans it)."""
    webhook_secret: bytes | None = None
    """Signs mail reports (bounces, complaints); the endpoint is off without it."""
    soft_bounce_limit: int = 3
    soft_bounce_window_days: int = 30


def get_context(request: Request) -> ApiContext:
    """The app's context."""
    context: ApiContext = request.app.state.context
    return context


def get_gateway(request: Request) -> LeadGateway:
    """The gateway to lead workflows (connected in the app's lifespan)."""
    gateway: LeadGateway = request.app.state.gateway
    return gateway


def get_ledger(request: Request) -> SendLedger:
    """The send ledger and suppression list (opened in the app's lifespan)."""
    ledger: SendLedger = request.app.state.ledger
    return ledger


def require_api_key(
    context: Annotated[ApiContext, Depends(get_context)],
    key: Annotated[str | None, Security(_api_key_header)],
) -> None:
    """Refuse requests without a configured API key in ``X-API-Key``."""
    if not key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing API key: send it in the X-API-Key header"
        )
    if not any(hmac.compare_digest(key.encode(), k.encode()) for k in context.api_keys):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key")
