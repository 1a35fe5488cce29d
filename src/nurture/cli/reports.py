"""``nurture report <name>``: the reports over the facts log, read from the ledger's
database, as tables for a person, JSON for scripts or CSV for a spreadsheet.

One subcommand per report of ``nurture.domain.reports.REPORTS``, so the CLI lists the same
reports as the API and the dashboard.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from nurture.cli.common import HomeOption, project_home
from nurture.config.settings import Settings
from nurture.domain.reports import (
    REPORTS,
    Column,
    ReportQuery,
    ReportResult,
    ReportSpec,
    ReportTable,
)
from nurture.domain.reports.common import Cell
from nurture.errors import ConfigError

if TYPE_CHECKING:
    from nurture.adapters.factlog import FactStore

from nurture.services.reports import (
    ReportParamError,
    load_report_config,
    parse_query,
    report_csv,
    run_report,
)

__all__ = ["OutputFormat", "fail", "format_cell", "on_fact_store", "print_tables", "report_app"]

T = TypeVar("T")

report_app = typer.Typer(
    help="Reports over the facts log: funnel, velocity, sales, emails, experiments, cost.",
    no_args_is_help=True,
)


class OutputFormat(StrEnum):
    """How a report is printed."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


Since = Annotated[
    str | None, typer.Option(help="First day of the range, YYYY-MM-DD (UTC), included.")
]
Until = Annotated[
    str | None,
    typer.Option(
        help="Day after the range, YYYY-MM-DD, excluded: --since 2026-11-01 "
        "--until 2026-12-01 is November. Default: up to now."
    ),
]
By = Annotated[
    str | None,
    typer.Option(help="Group the funnel by source, form, utm_campaign or cohort (month created)."),
]
Format = Annotated[
    OutputFormat,
    typer.Option("--format", help="table for a person, json for scripts, csv for a sheet."),
]


def _command(spec: ReportSpec) -> None:
    def command(
        since: Since = None,
        until: Until = None,
        by: By = None,
        output: Format = OutputFormat.TABLE,
        home: HomeOption = None,
    ) -> None:
        show_report(spec.name, since, until, by, output, home)

    report_app.command(name=spec.name, help=f"{spec.summary}.")(command)


for _spec in REPORTS.values():
    _command(_spec)


def show_report(
    name: str,
    since: str | None,
    until: str | None,
    by: str | None,
    output: OutputFormat,
    home: HomeOption,
) -> None:
    """Run report ``name`` on the project's facts store and print it as ``output``."""
    settings = Settings(home=project_home(home, f"nurture report {name}"))
    try:
        query = parse_query(name, since, until, by, load_report_config(settings))
    except ReportParamError as exc:
        raise typer.BadParameter(exc.message, param_hint=f"'--{exc.param}'") from exc
    except ConfigError as exc:
        fail(exc)
    result = _run(name, query, settings)
    if output is OutputFormat.JSON:
        typer.echo(result.model_dump_json(indent=2))
    elif output is OutputFormat.CSV:
        typer.echo(report_csv(result), nl=False)
    else:
        print_tables(result, Console())


def _run(name: str, query: ReportQuery, settings: Settings) -> ReportResult:
    return on_fact_store(settings, lambda store: run_report(name, store, query))


def on_fact_store(settings: Settings, work: Callable[[FactStore], Awaitable[T]]) -> T:
    """``work`` on the facts store of ``NURTURE_LEDGER_URL``; a URL nurture cannot use or
    a database it cannot read ends the command with one line saying why."""
    import psycopg  # loaded only when a report is run, like the stores

    from nurture.adapters.factlog import open_fact_store
    from nurture.adapters.ledger.schema import locate_database

    async def run() -> T:
        store = open_fact_store(settings.ledger_url, settings.home)
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        locate_database(settings.ledger_url, settings.home)
    except ValueError as exc:  # a URL of no database nurture supports
        fail(exc)
    try:
        return asyncio.run(run())
    except (OSError, sqlite3.Error, psycopg.Error) as exc:
        fail(exc)


def fail(exc: Exception, command: str = "nurture report") -> NoReturn:
    """One line on stderr (a driver's message may hold several), exit status 1."""
    typer.echo(f"{command}: {' '.join(str(exc).split())}", err=True)
    raise typer.Exit(1) from exc


def print_tables(
    result: ReportResult, console: Console, title: str | None = None, scope: str | None = None
) -> None:
    """The report's tables, under a line saying which report (``title``, else the
    registered report's) over which range (or ``scope``: what else it covers)."""
    console.print(
        f"[bold]{title or REPORTS[result.report].title}[/bold], {scope or _range(result)}"
    )
    for table in result.tables():
        console.print(_rich_table(table, console.width))


def _range(result: ReportResult) -> str:
    since, until = result.since, result.until
    if since is None and until is None:
        return "all time"
    first = "the first fact" if since is None else since.isoformat()
    last = "now" if until is None else f"{until.isoformat()} (excluded)"
    return f"{first} to {last}"


def _rich_table(table: ReportTable, width: int) -> Table:
    shown = Table(title=table.title, title_justify="left", header_style="bold")
    cells = [
        [format_cell(c, v) for c, v in zip(table.columns, row, strict=True)] for row in table.rows
    ]
    for column, limit in zip(table.columns, _fit(table.columns, cells, width), strict=True):
        text = column.kind == "text"
        shown.add_column(column.label, justify="left" if text else "right", max_width=limit)
    for row in cells:
        # Text, not a string: a campaign name is anyone's ("[/]", "[link=...]"), never markup.
        shown.add_row(*map(Text, row))
    shown.caption = table.note if table.rows else "nothing in this range"
    shown.caption_justify = "left"
    return shown


def _fit(columns: tuple[Column, ...], cells: list[list[str]], width: int) -> list[int | None]:
    """The widest each column may be for the table to fit in ``width``.

    Rich narrows the widest columns first, cutting words ("Compla…"); instead, the columns
    that gain most by wrapping (a header of several words, a verdict) are held to their
    longest word, one after the other, until the table fits. A figure is never wrapped."""
    natural = [max([len(c.label), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    least = [
        max([_word(c.label), *(_word(r[i]) if c.kind == "text" else len(r[i]) for r in cells)])
        for i, c in enumerate(columns)
    ]
    limits: list[int | None] = [None] * len(columns)
    total = sum(natural) + 3 * len(columns) + 1  # each cell's padding and border, one more
    for i in sorted(range(len(columns)), key=lambda i: least[i] - natural[i]):
        if total <= width:
            break
        limits[i] = least[i]
        total -= natural[i] - least[i]
    return limits


def _word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def format_cell(column: Column, value: Cell) -> str:
    """A cell as a person reads it: rates in percent, hours or days, money in cents."""
    if value is None:
        return "-"
    if isinstance(value, str) or column.kind == "text":
        return str(value)
    if column.kind == "rate":
        return f"{value:.1%}"
    if column.kind == "hours":
        # No space inside: a narrow column may wrap at one, never inside a figure.
        return f"{value:.1f}h" if value < 48 else f"{value / 24:.1f}d"
    if column.kind == "money":
        return f"{value:,.2f}"
    if column.kind == "decimal":
        return f"{value:.2f}"
    if column.kind == "number":
        return "<0.0001" if value < 0.0001 else f"{value:.4f}"
    return f"{value:,}"
