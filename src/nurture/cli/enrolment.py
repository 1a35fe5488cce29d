"""``nurture enrolment check [CONFIG]``: what changed enrolment rules would do to the leads
running now, before the change ships.

Each running lead (listed from Temporal's visibility) is judged as its workflow would judge
it at its next evaluation, by the ``[[enrolment]]`` rules in force and by CONFIG's: how many
would enter a sequence, leave theirs or change to another, per sequence, and which leads
the change moves otherwise, with the reason.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from pydantic import TypeAdapter
from rich.console import Console

from nurture.cli.common import HomeOption, connect_temporal, exit_skipping_teardown, project_home
from nurture.cli.reports import OutputFormat, fail, print_tables
from nurture.config.settings import Settings
from nurture.domain.schedule import Duration
from nurture.services.reports import report_csv

if TYPE_CHECKING:
    from nurture.domain.reports.enrolment_check import EnrolmentCheckReport
    from nurture.services.enrolment_check import RuleSets

__all__ = ["check", "enrolment_app"]

enrolment_app = typer.Typer(
    help="Enrolment rules: what a changed set would do to the running leads.",
    no_args_is_help=True,
)
_COMMAND = "nurture enrolment check"
_DURATION: TypeAdapter[timedelta] = TypeAdapter(Duration)


@enrolment_app.command()
def check(
    config: Annotated[
        Path | None,
        typer.Argument(
            help="A copy of config/nurture.toml with changed enrolment rules; default: "
            "config/nurture.candidate.toml if the project has one, else the rules in force "
            "(what each lead's next evaluation does now).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            help="Judge as at this moment: a duration from now (7d, 12h) or a date and time "
            "(2026-12-24T09:00, UTC unless it says +01:00); default: now. Time-driven rules "
            "(inactive_for, reenter_after) read it.",
        ),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", help="table for a person, json for scripts, csv for a sheet."),
    ] = OutputFormat.TABLE,
    home: HomeOption = None,
) -> None:
    """Judge every running lead by the rules in force and by CONFIG's, side by side."""
    settings = Settings(home=project_home(home, _COMMAND))
    moment = _moment(at)
    candidate = config if config is not None else _default_candidate(settings)
    if candidate is not None and not candidate.is_file():
        raise typer.BadParameter(f"no file {str(candidate)!r}", param_hint="'CONFIG'")
    from nurture.services.enrolment_check import check_candidate

    rules = check_candidate(settings, candidate)
    err = Console(stderr=True, highlight=False)
    for line in rules.report.lines():
        err.print(line, markup=False, soft_wrap=True)
    if rules.report.errors:
        typer.echo(f"{_COMMAND}: {len(rules.report.errors)} error(s) in the rules", err=True)
        raise typer.Exit(1)
    names = (settings.config_file.name, candidate.name if candidate else "the same rules")
    if candidate is not None and candidate.name == names[0]:
        names = (f"{names[0]} (now)", str(candidate))
    report = _run(settings, rules, moment, names)
    if output is OutputFormat.JSON:
        typer.echo(report.model_dump_json(indent=2))
    elif output is OutputFormat.CSV:
        typer.echo(report_csv(report), nl=False)
    else:
        scope = f"the leads running now, judged as at {report.at:%Y-%m-%d %H:%M} UTC"
        print_tables(report, Console(), title="Enrolment check", scope=scope)
    exit_skipping_teardown(0)


def _default_candidate(settings: Settings) -> Path | None:
    from nurture.services.enrolment_check import CANDIDATE_FILE

    path = settings.path(CANDIDATE_FILE)
    return path if path.is_file() else None


def _moment(text: str | None) -> datetime | None:
    """``--at`` as a moment: ``None`` for now."""
    if text is None:
        return None
    try:
        return datetime.now(UTC) + _DURATION.validate_python(text)
    except (OverflowError, ValueError):  # pydantic's ValidationError is a ValueError
        pass
    try:
        moment = datetime.fromisoformat(text)
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise typer.BadParameter(
            f"{text!r} is neither a duration (7d, 12h) nor a date and time (2026-12-24T09:00)",
            param_hint="'--at'",
        ) from None
    if moment < datetime.now(UTC) - timedelta(minutes=1):
        raise typer.BadParameter(
            f"{text!r} is in the past: the check judges the leads' next evaluation, now or later",
            param_hint="'--at'",
        )
    return moment


def _run(
    settings: Settings, rules: RuleSets, at: datetime | None, names: tuple[str, str]
) -> EnrolmentCheckReport:
    """The check on Temporal and the facts store; either out of reach ends the command
    with one line saying why."""
    import sqlite3

    import psycopg
    from temporalio.service import RPCError

    from nurture.adapters.factlog import open_fact_store
    from nurture.adapters.ledger.schema import locate_database
    from nurture.adapters.temporal.visibility import ListRefused
    from nurture.services.enrolment_check import run_enrolment_check

    try:
        locate_database(settings.ledger_url, settings.home)
    except ValueError as exc:
        fail(exc, _COMMAND)

    async def run() -> EnrolmentCheckReport:
        client = await connect_temporal(settings.temporal)
        store = open_fact_store(settings.ledger_url, settings.home)
        try:
            return await run_enrolment_check(client, store, rules, at, names)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except ListRefused as exc:
        _fail(str(exc))
    except RPCError as exc:
        _fail(f"Temporal at {settings.temporal.address} did not answer the list: {exc}")
    except (OSError, ValueError, sqlite3.Error, psycopg.Error) as exc:  # a fact unreadable
        _fail(" ".join(str(exc).split()))


def _fail(message: str) -> NoReturn:
    typer.echo(f"{_COMMAND}: {message}", err=True)
    exit_skipping_teardown(2)
