"""Leads from the command line, through the API: submit a form, record an event, show a
lead, act on it as sales, erase it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from nurture.cli.common import DEFAULT_API, ApiKey, ApiUrl, call_api, pairs, show
from nurture.devtools.stack import DEV_API_KEY

__all__ = ["event", "lead_app", "submit"]

lead_app = typer.Typer(help="Read leads and act on them as sales.", no_args_is_help=True)


def submit(
    form_id: Annotated[str, typer.Argument(help="A form id from config/nurture.toml.")],
    email: Annotated[str, typer.Option(help="The lead's email.")],
    first_name: str | None = None,
    last_name: str | None = None,
    company: str | None = None,
    job_title: str | None = None,
    locale: str | None = None,
    submission_id: str | None = None,
    field: Annotated[list[str] | None, typer.Option(help="Any other field, as name=value.")] = None,
    api_url: ApiUrl = DEFAULT_API,
) -> None:
    """Post a form for a lead, as a web page would."""
    body: dict[str, Any] = {
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "company": company,
        "job_title": job_title,
        "locale": locale,
        "submission_id": submission_id,
    }
    body.update(pairs(field or []))
    body = {k: v for k, v in body.items() if v is not None}
    show(call_api("POST", f"{api_url}/v1/forms/{form_id}", None, body))


def event(
    event_type: Annotated[str, typer.Argument(help="Event type, e.g. page_viewed.")],
    email: str | None = None,
    lead_id: str | None = None,
    prop: Annotated[list[str] | None, typer.Option(help="A property, as name=value.")] = None,
    event_id: str | None = None,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = DEV_API_KEY,
) -> None:
    """Record a behavioural event for a lead."""
    body: dict[str, Any] = {
        "type": event_type,
        "email": email,
        "lead_id": lead_id,
        "event_id": event_id,
        "properties": pairs(prop or []),
    }
    body = {k: v for k, v in body.items() if v is not None}
    show(call_api("POST", f"{api_url}/v1/events", api_key, body))


@lead_app.command("show")
def lead_show(
    who: Annotated[str, typer.Argument(help="An email or a lead id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON.")] = False,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = DEV_API_KEY,
) -> None:
    """Show a lead's stage, score with its explanation, transitions and emails."""
    if "@" in who:
        view = call_api("POST", f"{api_url}/v1/leads/lookup", api_key, {"email": who})
    else:
        view = call_api("GET", f"{api_url}/v1/leads/{who}", api_key, None)
    if as_json:
        show(view)
        return
    from nurture.domain.lead.view import LeadView, summary_markdown

    typer.echo(summary_markdown(LeadView.model_validate(view)))


@lead_app.command("act")
def lead_act(
    action: Annotated[
        str,
        typer.Argument(
            help="accept, return-to-nurture, disqualify, convert, won or lost.",
        ),
    ],
    who: Annotated[str, typer.Argument(help="An email or a lead id.")],
    actor: Annotated[str, typer.Option(help="Who acts (a rep id or name).")],
    reason: Annotated[
        str | None,
        typer.Option(
            help="return-to-nurture: budget, authority, need, timing, no_response, other."
        ),
    ] = None,
    note: str | None = None,
    revisit_after: Annotated[
        str | None, typer.Option(help="return-to-nurture: no new hand-off before YYYY-MM-DD.")
    ] = None,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = DEV_API_KEY,
) -> None:
    """Act on a lead as sales; a refused action prints why and changes nothing."""
    lead_id = who
    if "@" in who:
        lookup = call_api("POST", f"{api_url}/v1/leads/lookup", api_key, {"email": who})
        lead_id = lookup["lead_id"]
    body = {"actor": actor, "reason": reason, "note": note, "revisit_after": revisit_after}
    body = {k: v for k, v in body.items() if v is not None}
    view = call_api("POST", f"{api_url}/v1/leads/{lead_id}/{action}", api_key, body)
    from nurture.domain.lead.view import LeadView, summary_markdown

    typer.echo(summary_markdown(LeadView.model_validate(view)))


@lead_app.command("erase")
def lead_erase(
    who: Annotated[str, typer.Argument(help="An email or a lead id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = DEV_API_KEY,
) -> None:
    """Erase a lead (right to erasure): its workflows and histories, send records, facts
    and outbox messages are deleted; a keyed hash of its address stays suppressed."""
    if not yes:
        typer.confirm(f"Erase {who} for good? This cannot be undone", abort=True)
    if "@" in who:
        report = call_api("POST", f"{api_url}/v1/leads/erase", api_key, {"email": who})
    else:
        report = call_api("DELETE", f"{api_url}/v1/leads/{who}", api_key, None)
    typer.echo(
        f"erased lead {report['lead_id']}: {report['workflow_runs_deleted']} workflow runs, "
        f"{report['send_records_deleted']} send records, {report['facts_deleted']} facts, "
        f"{report['outbox_messages_deleted']} outbox messages deleted; "
        + ("address suppressed" if report["suppressed"] else "no address was known")
    )
