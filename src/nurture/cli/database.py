"""``nurture db``: the schema version of the ledger's database (the ledger, the facts log),
so an operator can see it and upgrade it before starting the new processes. The worker
and the API upgrade it themselves when they open it; this does the same, on demand."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from psycopg.conninfo import conninfo_to_dict

from nurture.adapters.ledger.schema import (
    SchemaStatus,
    database_status,
    locate_database,
    upgrade_database,
)
from nurture.cli.common import HomeOption, project_home
from nurture.config.settings import Settings

__all__ = ["db_app"]

db_app = typer.Typer(
    help="The ledger database's schema (NURTURE_LEDGER_URL): its version, its upgrade.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print the status as JSON.")]


@db_app.command("status")
def db_status(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Show the schema version of the database and the migrations not applied yet."""
    _report(home, as_json, database_status)


@db_app.command("upgrade")
def db_upgrade(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Apply the migrations not applied yet (safe while the worker and the API run)."""
    _report(home, as_json, upgrade_database)


def _report(
    home: Path | None,
    as_json: bool,
    action: Callable[[str, Path], Coroutine[Any, Any, SchemaStatus]],
) -> None:
    settings = Settings(home=project_home(home, "nurture db"))
    try:
        status = asyncio.run(action(settings.ledger_url, settings.home))
    except (ValueError, OSError, sqlite3.Error, psycopg.Error) as exc:
        typer.echo(f"nurture db: {exc}", err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(status.model_dump_json())
        return
    typer.echo(f"database: {_shown(settings.ledger_url, settings.home)}")
    typer.echo(f"schema version: {status.version} (this nurture knows up to {status.latest})")
    if status.pending:
        typer.echo(f"pending: {', '.join(status.pending)} (`nurture db upgrade` applies them now,")
        typer.echo("the worker and the API when they open the database)")
    elif status.version > status.latest:
        typer.echo("made by a later nurture: left as it is (its migrations only add)")
    else:
        typer.echo("up to date")


def _shown(url: str, home: Path) -> str:
    """The database named without its password."""
    where = locate_database(url, home)
    if isinstance(where, Path):
        return f"SQLite file {where}"
    parts = conninfo_to_dict(where)
    return f"Postgres database {parts.get('dbname', '?')} on {parts.get('host', 'localhost')}"
