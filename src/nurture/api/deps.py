"""Shared resources for the routers, swapped in tests through ``dependency_overrides``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from nurture.adapters.factlog import FactStore
from nurture.adapters.ledger import SendLedger
from nurture.adapters.links.tokens import TokenSigner
from nurture.adapters.links.tracking import Tracker
from nurture.adapters.temporal.gateway import LeadGateway
from nurture.adapters.temporal.webhooks import WebhookPublisher
from nurture.api.pages import PageRenderer
from nurture.api.security import ApiKeyEntry, RateLimiter, Scope
from nurture.config.project import ProjectConfig
from nurture.config.watched import Watched
from nurture.domain.identity import lead_id_for
from nurture.domain.sales.routing import SalesTeam
from nurture.domain.vocabulary import EventVocabulary
from nurture.services.report_cache import ReportCache
from nurture.services.reports import ReportConfig
from nurture.services.scoring_backtest import BacktestCache

__all__ = [
    "ApiContext",
    "ScopeCheck",
    "client_address",
    "get_context",
    "get_fact_store",
    "get_gateway",
    "get_ledger",
    "get_webhooks",
    "lead_id_by_email",
    "rate_limited",
    "require_scope",
]

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


@dataclass(frozen=True)
class ApiContext:
    """What every request may need, built once per app."""

    project: ProjectConfig
    locales: list[str]
    id_key: bytes
    api_keys: list[ApiKeyEntry]
    signer: TokenSigner
    """Checks the tokens of links in emails (unsubscribe, confirmation)."""
    tracker: Tracker
    """Reads open and click tokens."""
    pages: PageRenderer
    """Renders the pages people see in a browser, in their language."""
    outbox: Path | None = None
    """The local SMTP sink's folder, if any (erasure cleans it)."""
    webhook_secret: bytes | None = None
    """Signs mail reports (bounces, complaints); the endpoint is off without it."""
    soft_bounce_limit: int = 3
    soft_bounce_window_days: int = 30
    limiter: RateLimiter | None = None
    """Limits the public endpoints per client address; ``None``: no limit."""
    form_secret: bytes | None = None
    """Signs form posts from servers (form builders' webhooks); ``None``: none accepted."""
    smtputf8: bool = False
    """The relay takes addresses whose local part is not ASCII (``SMTP_SMTPUTF8``)."""
    event_types: Watched[EventVocabulary] | None = None
    """The event types ``POST /v1/events`` accepts; ``None`` accepts any."""
    sales_team: Watched[SalesTeam] | None = None
    """``config/sales.toml`` as it is now: who may use the sales pages' links."""
    rep_link_validity: timedelta = timedelta(days=14)
    """How long the links the sales pages make stay valid (``NURTURE_REP_LINK_DAYS``)."""
    report_config: ReportConfig = field(default_factory=ReportConfig)
    """The spend and the SLA the reports show."""
    report_cache: ReportCache = field(default_factory=ReportCache)
    """The dashboard's recent figures."""
    backtest: BacktestCache | None = None
    """The dashboard's scoring back-test; ``None``: no scoring section."""

    def rate_wait(self, request: Request, group: str) -> float:
        """Seconds this request's client must wait in ``group`` (0: go ahead; it took a
        token), always 0 without a limiter."""
        if self.limiter is None:
            return 0.0
        return self.limiter.take(client_address(request), group)

    def key_entry(self, key: str | None) -> ApiKeyEntry | None:
        """The configured entry ``key`` matches, if any."""
        return next((e for e in self.api_keys if e.matches(key)), None) if key else None


def get_context(request: Request) -> ApiContext:
    """The app's context."""
    context: ApiContext = request.app.state.context
    return context


def get_gateway(request: Request) -> LeadGateway:
    """The gateway to lead workflows (connected in the app's lifespan)."""
    gateway: LeadGateway = request.app.state.gateway
    return gateway


def get_webhooks(request: Request) -> WebhookPublisher | None:
    """The outbound webhooks' publisher (erasure tells it); ``None`` without subscriptions."""
    publisher: WebhookPublisher | None = getattr(request.app.state, "webhooks", None)
    return publisher


def get_ledger(request: Request) -> SendLedger:
    """The send ledger and suppression list (opened in the app's lifespan)."""
    ledger: SendLedger = request.app.state.ledger
    return ledger


def get_fact_store(request: Request) -> FactStore:
    """The facts store (reports read it, erasure deletes from it): the one handed to the
    app, else the ledger's database, opened at the first request that needs it (an API
    that serves none never opens it) and closed with the app."""
    state = request.app.state
    if state.facts is None:
        state.facts = state.open_facts()
    store: FactStore = state.facts
    return store


def lead_id_by_email(request: Request, email: str) -> str:
    """The lead id of the address a person gave. A lead not found while answering this
    request is then named by that address, never by the keyed hash the person never saw."""
    request.state.lead_email = email
    return lead_id_for(email, get_context(request).id_key)


class ScopeCheck:
    """A dependency refusing requests without a configured key that has ``scope``; the
    OpenAPI document reads ``scope`` from it (``nurture.api.access``)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def __call__(
        self,
        context: Annotated[ApiContext, Depends(get_context)],
        key: Annotated[str | None, Security(_api_key_header)],
    ) -> None:
        if not key:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "missing API key: send it in the X-API-Key header"
            )
        entry = context.key_entry(key)
        if entry is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key")
        if not entry.allows(self.scope):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this API key lacks the '{self.scope}' scope"
            )


def require_scope(scope: Scope) -> ScopeCheck:
    """A dependency refusing requests without a configured key that has ``scope``."""
    return ScopeCheck(scope)


def rate_limited(group: str) -> Callable[..., None]:
    """A dependency applying the public rate limit of ``group`` to the client's address;
    a key with the ``forms`` scope (a server posting for its users) is exempt."""

    def check(
        request: Request,
        context: Annotated[ApiContext, Depends(get_context)],
        key: Annotated[str | None, Security(_api_key_header)],
    ) -> None:
        if context.limiter is None or getattr(request.state, "signed", False):
            return
        entry = context.key_entry(key)
        if entry is not None and entry.allows("forms"):
            return
        wait = context.rate_wait(request, group)
        if wait > 0:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                "too many requests from this address; retry later",
                headers={"Retry-After": RateLimiter.retry_after(wait)},
            )

    return check


def client_address(request: Request) -> str:
    """The client's address: the connection's, or behind a trusted proxy the address it
    saw (the app's ``ProxyHeadersMiddleware`` has set it; see ``create_app``)."""
    return request.client.host if request.client else "unknown"
