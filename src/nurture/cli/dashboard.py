"""``nurture report open``: print a link to the reports dashboard that works without an API
key, for a while: signed with the deployment's secret, for the dashboard only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from nurture.adapters.links.tokens import TokenSigner
from nurture.cli.common import HomeOption, project_home
from nurture.config.settings import Settings
from nurture.domain.schedule import parse_duration
from nurture.services.dashboard_link import DEFAULT_VALIDITY, MAX_VALIDITY, dashboard_url

__all__ = ["open_dashboard"]


def _validity(text: str) -> timedelta:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not isinstance(value, timedelta) or not timedelta(0) < value <= MAX_VALIDITY:
        raise typer.BadParameter(f"write a duration like 8h or 7d, at most {MAX_VALIDITY.days}d")
    return value


def open_dashboard(
    valid_for: Annotated[
        str,
        typer.Option(help="How long the link works: 8h, 7d... (at most 90d)."),
    ] = f"{DEFAULT_VALIDITY.days}d",
    since: Annotated[str | None, typer.Option(help="First day shown, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Day after the last, YYYY-MM-DD.")] = None,
    by: Annotated[
        str | None, typer.Option(help="Conversion by source, form or utm_campaign.")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="en or fr; default: the browser's.")] = None,
    home: HomeOption = None,
) -> None:
    """Print a link that opens the reports dashboard without an API key, for a while.

    The link is NURTURE_PUBLIC_URL/reports with a token signed by NURTURE_ID_KEY. Anyone
    with it sees the reports (figures only, no address or lead) until it expires: share it
    like a password; changing NURTURE_ID_KEY revokes every link at once."""
    lifetime = _validity(valid_for)
    settings = Settings(home=project_home(home, "nurture report open"))
    now = datetime.now(UTC)
    url = dashboard_url(
        TokenSigner(settings.secret()),
        settings.public_url,
        now,
        lifetime,
        since=since,
        until=until,
        by=by,
        lang=lang,
    )
    typer.echo(url)
    typer.echo(f"valid until {(now + lifetime):%Y-%m-%d %H:%M} UTC", err=True)
