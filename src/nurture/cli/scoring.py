"""``nurture scoring backtest CANDIDATE.toml``: what a changed scoring model would have done
to the leads nurture has seen, before it is put in place.

Each lead's recorded facts are scored by the project's model and by the candidate; the
report says where the leads would stand now, when they would have crossed MQL and SQL, how
each score matched what sales decided, and which SQL threshold would have matched best.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from nurture.cli.common import HomeOption, project_home
from nurture.cli.reports import OutputFormat, fail, on_fact_store, print_tables
from nurture.config.settings import Settings
from nurture.errors import ConfigError
from nurture.services.reports import ReportParamError, parse_day, report_csv
from nurture.services.scoring_backtest import load_models, project_fields, run_backtest

if TYPE_CHECKING:
    from nurture.adapters.factlog import FactStore
    from nurture.domain.reports.backtest import BacktestReport

__all__ = ["backtest", "scoring_app"]

scoring_app = typer.Typer(
    help="The scoring model: back-test a candidate against what happened.",
    no_args_is_help=True,
)
_COMMAND = "nurture scoring backtest"


@scoring_app.command()
def backtest(
    candidate: Annotated[
        Path,
        typer.Argument(
            help="The candidate scoring model (a copy of config/scoring.toml, changed).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    since: Annotated[
        str | None,
        typer.Option(help="Only leads created on or after this day, YYYY-MM-DD (UTC)."),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", help="table for a person, json for scripts, csv for a sheet."),
    ] = OutputFormat.TABLE,
    home: HomeOption = None,
) -> None:
    """Score every recorded lead by the current model and CANDIDATE, side by side."""
    settings = Settings(home=project_home(home, _COMMAND))
    try:
        first_day = parse_day("since", since)
        current, other = load_models(settings, candidate)
        fields = project_fields(settings)
    except ReportParamError as exc:
        raise typer.BadParameter(exc.message, param_hint="'--since'") from exc
    except ConfigError as exc:
        fail(exc, _COMMAND)
    names = (settings.scoring_file.name, candidate.name)
    if names[0] == names[1]:
        names = (f"{names[0]} (now)", str(candidate))

    def run(store: FactStore) -> Awaitable[BacktestReport]:
        return run_backtest(store, current, other, first_day, names=names, fields=fields)

    report = on_fact_store(settings, run)
    if output is OutputFormat.JSON:
        typer.echo(report.model_dump_json(indent=2))
    elif output is OutputFormat.CSV:
        typer.echo(report_csv(report), nl=False)
    else:
        print_tables(report, Console(), title="Scoring back-test")
