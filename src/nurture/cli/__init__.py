"""The ``nurture`` command, built from one module per command group.

``dev`` runs the whole stack on this machine; ``api``, ``worker`` and ``setup`` are what a
deployment runs (``deployment``); ``submit``, ``event``, ``lead`` and ``leads`` reach leads
through the API (``leads``, drawn by ``leadview``); ``sequences``, ``outbox``/``sink`` and
``report`` look inside; ``config check``, ``templates check`` (``checks``), ``apikey``
(``keys``), ``db`` (``database``) and ``deploy check`` (``deploy``) prepare a deployment;
``scoring backtest`` (``scoring``) and ``enrolment check`` (``enrolment``) show what a
changed model or changed rules would do; ``facts backfill`` (``facts``) fills the facts
log for leads that lived before it; ``import`` (``imports``) brings CSV files in from
other tools; ``export`` writes leads and facts as CSV or JSON lines; ``webhooks`` lists
the outbound webhooks given up on and replays them.
"""

from __future__ import annotations

import typer

from nurture.cli import (
    checks,
    dashboard,
    database,
    deploy,
    deployment,
    dev,
    enrolment,
    export,
    facts,
    imports,
    keys,
    leads,
    outbox,
    reports,
    scoring,
    sequences,
    webhooks,
)

__all__ = ["app", "main"]

_RUN = "Run nurture"
_LEADS = "Leads"
_INSPECT = "Look inside"
_PREPARE = "Prepare a deployment"

app = typer.Typer(help="Durable lead nurturing on Temporal.", no_args_is_help=True)
app.command(rich_help_panel=_RUN)(dev.dev)
app.command(rich_help_panel=_RUN)(deployment.worker)
app.command(rich_help_panel=_RUN)(deployment.api)
app.command(rich_help_panel=_RUN)(outbox.sink)
app.command(rich_help_panel=_LEADS)(leads.submit)
app.command(rich_help_panel=_LEADS)(leads.event)
app.add_typer(leads.lead_app, name="lead", rich_help_panel=_LEADS)
app.add_typer(leads.leads_app, name="leads", rich_help_panel=_LEADS)
app.add_typer(imports.import_app, name="import", rich_help_panel=_LEADS)
app.add_typer(sequences.sequences_app, name="sequences", rich_help_panel=_INSPECT)
app.command(rich_help_panel=_INSPECT)(outbox.outbox)
reports.report_app.command("open")(dashboard.open_dashboard)
app.add_typer(reports.report_app, name="report", rich_help_panel=_INSPECT)
app.command(rich_help_panel=_PREPARE)(deployment.setup)
app.add_typer(checks.config_app, name="config", rich_help_panel=_PREPARE)
app.add_typer(checks.templates_app, name="templates", rich_help_panel=_PREPARE)
app.add_typer(keys.apikey_app, name="apikey", rich_help_panel=_PREPARE)
app.add_typer(deploy.deploy_app, name="deploy", rich_help_panel=_PREPARE)
app.add_typer(database.db_app, name="db", rich_help_panel=_PREPARE)
app.add_typer(facts.facts_app, name="facts", rich_help_panel=_INSPECT)
app.add_typer(export.export_app, name="export", rich_help_panel=_LEADS)
app.add_typer(webhooks.webhooks_app, name="webhooks", rich_help_panel=_INSPECT)
app.add_typer(scoring.scoring_app, name="scoring", rich_help_panel=_PREPARE)
app.add_typer(enrolment.enrolment_app, name="enrolment", rich_help_panel=_PREPARE)


def main() -> None:
    """Console entry point."""
    app()
