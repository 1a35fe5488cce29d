"""Leads from the command line, through the API: submit a form, record an event, show a
lead, act on it as sales, erase it, list leads."""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from typing import Annotated, Any

import typer
from rich.console import Console

from nurture.cli.common import (
    DEFAULT_API,
    ApiKey,
    ApiUrl,
    TimeZone,
    call_api,
    pairs,
    show,
    time_zone,
)
from nurture.cli.leadview import lead_renderables, leads_table
from nurture.devtools.stack import DEV_API_KEY
from nurture.domain.lead.listing import MAX_PAGE_SIZE, LeadPage
from nurture.domain.lead.view import LeadView
from nurture.domain.lifecycle import Stage
from nurture.domain.scoring import Grade

__all__ = [
    "GradeFilter",
    "MinScoreFilter",
    "NextTouchFilter",
    "OwnerFilter",
    "SequenceFilter",
    "StageFilter",
    "event",
    "lead_app",
    "leads_app",
    "list_filters",
    "local_moment",
    "moment_option",
    "submit",
]

lead_app = typer.Typer(help="Read leads and act on them as sales.", no_args_is_help=True)
leads_app = typer.Typer(help="List leads.", no_args_is_help=True)

Who = Annotated[str, typer.Argument(help="An email or a lead id.")]
Json = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer, for scripts.")]


def submit(
    form_id: Annotated[str, typer.Argument(help="A form id from config/nurture.toml.")],
    email: Annotated[str, typer.Option(help="The lead's email.")],
    first_name: Annotated[str | None, typer.Option(help="The lead's first name.")] = None,
    last_name: Annotated[str | None, typer.Option(help="The lead's last name.")] = None,
    company: Annotated[str | None, typer.Option(help="The lead's company.")] = None,
    job_title: Annotated[str | None, typer.Option(help="The lead's job title.")] = None,
    locale: Annotated[
        str | None, typer.Option(help="The lead's language for emails, e.g. fr.")
    ] = None,
    submission_id: Annotated[
        str | None, typer.Option(help="Retries with the same id count once.")
    ] = None,
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
    email: Annotated[str | None, typer.Option(help="The lead's email (or --lead-id).")] = None,
    lead_id: Annotated[str | None, typer.Option(help="The lead's id (or --email).")] = None,
    prop: Annotated[list[str] | None, typer.Option(help="A property, as name=value.")] = None,
    event_id: Annotated[
        str | None, typer.Option(help="Retries with the same id count once.")
    ] = None,
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
    who: Who,
    as_json: Json = False,
    tz: TimeZone = None,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = DEV_API_KEY,
) -> None:
    """Show a lead: who, stage, score with its explanation, sales hand-off and deadline,
    sequence, stage changes, emails and sales log."""
    zone = time_zone(tz)
    if "@" in who:
        view = call_api("POST", f"{api_url}/v1/leads/lookup", api_key, {"email": who})
    else:
        view = call_api("GET", f"{api_url}/v1/leads/{who}", api_key, None)
    if as_json:
        show(view)
        return
    _print_lead(view, zone, who if "@" in who else None)


def _print_lead(answer: dict[str, Any], zone: tzinfo, email: str | None) -> None:
    console = Console(highlight=False)
    for part in lead_renderables(LeadView.model_validate(answer), zone, email):
        console.print(part)


@lead_app.command("act")
def lead_act(
    action: Annotated[
        str,
        typer.Argument(
            help="accept, return-to-nurture, disqualify, convert, won or lost.",
        ),
    ],
    who: Who,
    actor: Annotated[str, typer.Option(help="Who acts (a rep id or name).")],
    reason: Annotated[
        str | None,
        typer.Option(
            help="return-to-nurture: budget, authority, need, timing, no_response, other."
        ),
    ] = None,
    note: Annotated[str | None, typer.Option(help="A note for the sales log.")] = None,
    revisit_after: Annotated[
        str | None, typer.Option(help="return-to-nurture: no new hand-off before YYYY-MM-DD.")
    ] = None,
    as_json: Json = False,
    tz: TimeZone = None,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = DEV_API_KEY,
) -> None:
    """Act on a lead as sales; a refused action prints why and changes nothing."""
    zone = time_zone(tz)
    lead_id = who
    if "@" in who:
        lookup = call_api("POST", f"{api_url}/v1/leads/lookup", api_key, {"email": who})
        lead_id = lookup["lead_id"]
    body = {"actor": actor, "reason": reason, "note": note, "revisit_after": revisit_after}
    body = {k: v for k, v in body.items() if v is not None}
    view = call_api("POST", f"{api_url}/v1/leads/{lead_id}/{action}", api_key, body)
    if as_json:
        show(view)
        return
    _print_lead(view, zone, who if "@" in who else None)


@lead_app.command("erase")
def lead_erase(
    who: Who,
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


StageFilter = Annotated[
    Stage | None, typer.Option(case_sensitive=False, help="Only leads in this stage.")
]
MinScoreFilter = Annotated[int | None, typer.Option(help="Only leads scoring at least this.")]
GradeFilter = Annotated[
    Grade | None, typer.Option(case_sensitive=False, help="Only leads of this grade.")
]
OwnerFilter = Annotated[
    str | None, typer.Option(help="Only leads owned by this rep id (config/sales.toml).")
]
SequenceFilter = Annotated[str | None, typer.Option(help="Only leads in this sequence.")]
NextTouchFilter = Annotated[
    str | None,
    typer.Option(
        help="Only leads nurture acts on before this moment: YYYY-MM-DD (midnight) or "
        "YYYY-MM-DDTHH:MM, in the --tz zone."
    ),
]
"""The filters of ``GET /v1/leads``, as ``leads list`` and ``export leads`` take them."""


def list_filters(
    stage: Stage | None,
    min_score: int | None,
    grade: Grade | None,
    owner: str | None,
    sequence: str | None,
    next_touch_before: str | None,
    zone: tzinfo,
) -> dict[str, Any]:
    """The query parameters of the filters given (a moment in ``zone`` unless it says)."""
    params: dict[str, Any] = {
        "stage": stage,
        "min_score": min_score,
        "grade": grade,
        "owner": owner,
        "sequence": sequence,
        "next_touch_before": moment_option(next_touch_before, zone),
    }
    return {k: v for k, v in params.items() if v is not None}


@leads_app.command("list")
def leads_list(
    stage: StageFilter = None,
    min_score: MinScoreFilter = None,
    grade: GradeFilter = None,
    owner: OwnerFilter = None,
    sequence: SequenceFilter = None,
    next_touch_before: NextTouchFilter = None,
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_PAGE_SIZE, help="How many leads a page shows.")
    ] = 25,
    page: Annotated[
        str | None, typer.Option(help="The next-page token a previous list printed.")
    ] = None,
    as_json: Json = False,
    tz: TimeZone = None,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = DEV_API_KEY,
) -> None:
    """List the open leads matching every filter given, a page at a time (no addresses:
    show one with `nurture lead show`)."""
    zone = time_zone(tz)
    given = {"page_size": limit, "page_token": page}
    filters = list_filters(stage, min_score, grade, owner, sequence, next_touch_before, zone)
    params = {**filters, **{k: v for k, v in given.items() if v is not None}}
    answer = call_api("GET", f"{api_url}/v1/leads", api_key, None, params)
    if as_json:
        show(answer)
        return
    listed = LeadPage.model_validate(answer)
    console = Console(highlight=False)
    if not listed.leads:
        console.print("No open lead matches." if page is None else "No more leads.")
        return
    console.print(leads_table(listed, zone, console.width))
    if listed.next_page_token:
        # One unbroken line (the terminal wraps it), so the token copies whole.
        console.print(
            f"More: the same command with --page {listed.next_page_token}", soft_wrap=True
        )


def moment_option(text: str | None, zone: tzinfo) -> str | None:
    """``--next-touch-before`` as an ISO moment with its offset (a date is its midnight)."""
    moment = local_moment(text, zone, "--next-touch-before")
    return moment.isoformat() if moment else None


def local_moment(text: str | None, zone: tzinfo, hint: str) -> datetime | None:
    """An option's day (its midnight) or moment; without an offset, in ``zone``."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), time())
        except ValueError as exc:
            raise typer.BadParameter(
                f"{text!r} is not a date (YYYY-MM-DD) or a moment (YYYY-MM-DDTHH:MM)",
                param_hint=hint,
            ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
