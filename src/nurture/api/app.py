"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from nurture import __version__
from nurture.adapters.factlog import FactStore, open_fact_store
from nurture.adapters.ledger import SendLedger, open_ledger
from nurture.adapters.links.tokens import TokenSigner
from nurture.adapters.links.tracking import Tracker
from nurture.adapters.mail.rendering import TemplateRenderer
from nurture.adapters.temporal.client import connect
from nurture.adapters.temporal.gateway import LeadGateway, TemporalLeadGateway
from nurture.adapters.temporal.webhooks import WebhookPublisher
from nurture.api.access import install_access_marks
from nurture.api.deps import ApiContext
from nurture.api.docs import install_docs
from nurture.api.errors import install_error_handlers
from nurture.api.pages import PageRenderer
from nurture.api.routes import (
    confirm,
    dashboard,
    events,
    form_pages,
    forms,
    lead_import,
    leads,
    reports,
    sales_desk,
    sales_pages,
    scoring,
    suppressions,
    tracking,
    unsubscribe,
    webhooks,
)
from nurture.api.security import BodyLimit, RateLimiter, parse_api_keys, parse_rate
from nurture.config.check import require_valid_configuration
from nurture.config.files import load_project_config, watched_sales_team, watched_vocabulary
from nurture.config.settings import Settings
from nurture.services.reports import load_report_config
from nurture.services.scoring_backtest import CANDIDATE_FILE, BacktestCache

__all__ = ["create_app"]

log = logging.getLogger("nurture.api")


def create_app(
    settings: Settings | None = None,
    gateway: LeadGateway | None = None,
    ledger: SendLedger | None = None,
    facts: FactStore | None = None,
) -> FastAPI:
    """Build the API; without a ``gateway`` it connects to Temporal on startup, without a
    ``ledger`` it opens ``NURTURE_LEDGER_URL`` (the suppression list lives there), without
    ``facts`` it opens the facts store in that database when it is first needed."""
    settings = settings or Settings()
    require_valid_configuration(settings)  # ConfigError naming every file, line and rule
    project = load_project_config(settings.path(settings.config_file))
    renderer = TemplateRenderer(settings.path(settings.templates_dir), project.defaults.locale)
    rate = parse_rate(settings.api.public_rate)
    signer = TokenSigner(settings.secret())
    context = ApiContext(
        project=project,
        locales=renderer.locales(),
        id_key=settings.secret(),
        api_keys=parse_api_keys(settings.api.keys),
        signer=signer,
        tracker=Tracker(signer, settings.public_url, project.tracking),
        pages=PageRenderer(project.brand.company, project.defaults.locale),
        outbox=settings.path(settings.outbox_dir) if settings.outbox_dir else None,
        webhook_secret=(
            settings.webhook_secret.get_secret_value().encode() if settings.webhook_secret else None
        ),
        soft_bounce_limit=settings.soft_bounce_limit,
        soft_bounce_window_days=settings.soft_bounce_window_days,
        limiter=RateLimiter(rate, settings.api.public_burst) if rate else None,
        form_secret=(
            settings.form_webhook_secret.get_secret_value().encode()
            if settings.form_webhook_secret
            else None
        ),
        smtputf8=settings.smtp.smtputf8,
        event_types=watched_vocabulary(
            settings.path(settings.config_file),
            settings.path(settings.scoring_file),
            settings.path(settings.sales_file),
        ),
        report_config=load_report_config(settings),
        backtest=BacktestCache(
            settings.path(settings.scoring_file), settings.path(CANDIDATE_FILE), project.fields
        ),
        sales_team=watched_sales_team(settings.path(settings.sales_file)),
        rep_link_validity=timedelta(days=settings.rep_link_days),
    )
    if not context.api_keys:
        log.warning("no NURTURE_API_KEYS configured: every authenticated endpoint answers 401")
    plain = sum(1 for entry in context.api_keys if not entry.hashed)
    if plain:
        log.warning(
            "%d API key(s) given in clear, with every scope: for production, store "
            "sha256:<digest>:<scopes> entries (nurture apikey create)",
            plain,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What was not handed in is connected or opened here, and closed on the way out.
        if gateway is None:
            client = await connect(settings.temporal)
            app.state.gateway = TemporalLeadGateway(
                client, settings.temporal.task_queue, settings.max_inbound_per_run
            )
            if project.webhooks:  # erasure tells the CRM
                app.state.webhooks = WebhookPublisher(
                    client, settings.temporal.task_queue, project.webhooks
                )
        if ledger is None:
            app.state.ledger = open_ledger(settings.ledger_url, settings.home)
        try:
            yield
        finally:
            if ledger is None:
                await app.state.ledger.close()
            if facts is None and app.state.facts is not None:
                await app.state.facts.close()

    app = FastAPI(
        title="nurture",
        version=__version__,
        description="Durable lead nurturing: forms and events in, lead journeys out.",
        lifespan=lifespan,
        docs_url=None,  # served offline by install_docs below
        redoc_url=None,
    )
    app.state.context = context
    if gateway is not None:
        app.state.gateway = gateway
    if ledger is not None:
        app.state.ledger = ledger
    app.state.facts = facts
    app.state.open_facts = lambda: open_fact_store(settings.ledger_url, settings.home)
    install_error_handlers(app)
    origins = [o.strip() for o in settings.api.cors_origins.split(",") if o.strip()]
    if origins:
        # Browsers may post forms from these origins; nothing else is exposed cross-site.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            max_age=600,
        )
    # The imports read their bodies as they arrive, in bounded memory.
    app.add_middleware(
        BodyLimit,
        limit=settings.api.max_body_bytes,
        streamed=(suppressions.IMPORT_PATH, lead_import.IMPORT_PATH),
    )
    proxies = settings.api.trusted_proxies()
    if proxies:
        # Here, not in uvicorn's options: the setting holds however the app is served.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    modules = (
        lead_import,  # before leads: /v1/leads/import is no lead id
        forms,
        form_pages,
        events,
        leads,
        unsubscribe,
        confirm,
        tracking,
        webhooks,
        reports,
        scoring,
        dashboard,
        sales_pages,
        sales_desk,
        suppressions,
    )
    for module in modules:
        app.include_router(module.router)

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_docs(app)
    install_access_marks(app)
    return app
