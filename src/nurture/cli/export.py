"""``nurture export``: leads (through the API, with a ``sales`` key) and the facts log
(from the ledger's database, like ``nurture report``) as CSV or JSON lines, streamed.

Leads go through the API so an export sees what sales may see and needs no database
access; the facts log holds no address, and reading it in place spares the API a
long-running answer.
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO

import httpx
import typer

from nurture.cli.common import (
    DEFAULT_API,
    ApiKey,
    ApiUrl,
    HomeOption,
    TimeZone,
    api_error,
    project_home,
    time_zone,
)
from nurture.cli.leads import (
    GradeFilter,
    MinScoreFilter,
    NextTouchFilter,
    OwnerFilter,
    SequenceFilter,
    StageFilter,
    list_filters,
    local_moment,
)
from nurture.config.files import load_project_config
from nurture.config.settings import Settings
from nurture.devtools.stack import DEV_API_KEY
from nurture.domain.factlog import FACT_KINDS
from nurture.domain.lead.listing import MAX_PAGE_SIZE, LeadPage
from nurture.domain.lead.view import LeadView
from nurture.errors import ConfigError
from nurture.services.export import (
    FACT_COLUMNS,
    LEAD_COLUMNS,
    ExportFormat,
    RecordWriter,
    export_leads,
    fact_record,
    lead_record,
)

__all__ = ["ApiLeads", "api_client", "export_app"]

export_app = typer.Typer(
    help="Export leads or the facts log as CSV or JSON lines.", no_args_is_help=True
)

Format = Annotated[
    ExportFormat, typer.Option("--format", help="csv (a header row) or jsonl (one JSON a line).")
]
Output = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
]


class ApiLeads:
    """The lead list's pages and each lead's view, from the API (``sales`` scope)."""

    def __init__(self, client: httpx.AsyncClient, params: dict[str, Any]) -> None:
        self._client = client
        self._params = params

    async def page(self, token: str | None) -> LeadPage:
        """One page of ``GET /v1/leads`` with the export's filters."""
        params = {**self._params, "page_size": MAX_PAGE_SIZE}
        if token:
            params["page_token"] = token
        return LeadPage.model_validate(_answer(await self._client.get("/v1/leads", params=params)))

    async def view(self, lead_id: str) -> LeadView | None:
        """``GET /v1/leads/{id}``; a 404 (erased since it was listed) is ``None``."""
        response = await self._client.get(f"/v1/leads/{lead_id}")
        if response.status_code == 404:
            return None
        return LeadView.model_validate(_answer(response))


def _answer(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise _Refused(api_error(response.status_code, response.text))
    return response.json()


class _Refused(Exception):
    """The API refused a call: the export stops saying why."""


def api_client(api_url: str, api_key: str) -> httpx.AsyncClient:
    """The client an export calls the API with."""
    return httpx.AsyncClient(base_url=api_url, headers={"X-API-Key": api_key}, timeout=30)


@export_app.command("leads")
def leads(
    stage: StageFilter = None,
    min_score: MinScoreFilter = None,
    grade: GradeFilter = None,
    owner: OwnerFilter = None,
    sequence: SequenceFilter = None,
    next_touch_before: NextTouchFilter = None,
    fmt: Format = ExportFormat.CSV,
    output: Output = None,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Leads fetched at once.")] = 8,
    field: Annotated[
        list[str] | None,
        typer.Option(
            help="A custom field to export as a column (repeat for several); default: every "
            "field [fields] of the project's config/nurture.toml declares."
        ),
    ] = None,
    tz: TimeZone = None,
    home: HomeOption = None,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = DEV_API_KEY,
) -> None:
    """Export the open leads matching every filter given (as `nurture leads list`), with
    their contact details, stage, score, owner, sequence, consent and custom fields."""
    zone = time_zone(tz)
    filters = list_filters(stage, min_score, grade, owner, sequence, next_touch_before, zone)
    with ExitStack() as stack:
        out = _open(output, stack)
        custom = tuple(field) if field is not None else _declared_fields(home)
        columns = (*LEAD_COLUMNS, *(f"custom.{name}" for name in custom))
        writer = RecordWriter(out, fmt, columns)
        try:
            done, gone = asyncio.run(_leads(api_url, api_key, filters, writer, concurrency, custom))
        except BrokenPipeError:
            _reader_gone()
        except httpx.HTTPError as exc:
            typer.echo(f"Cannot reach the API at {api_url}: {exc} (is it running?)", err=True)
            raise typer.Exit(2) from exc
        except _Refused as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
    _progress(f"{done} leads exported" + (f", {gone} erased meanwhile" if gone else ""), True)


def _declared_fields(home: Path | None) -> tuple[str, ...]:
    """The custom fields the project declares (none if its configuration cannot be read:
    the export then has the fixed columns only)."""
    try:
        settings = Settings(home=project_home(home, "nurture export leads"))
        return tuple(load_project_config(settings.path(settings.config_file)).fields)
    except (ConfigError, OSError):
        return ()


async def _leads(
    api_url: str,
    api_key: str,
    filters: dict[str, Any],
    writer: RecordWriter,
    concurrency: int,
    custom: tuple[str, ...] = (),
) -> tuple[int, int]:
    done = gone = 0

    def skipped(_: str) -> None:
        nonlocal gone
        gone += 1

    async with api_client(api_url, api_key) as client:
        views = export_leads(ApiLeads(client, filters), concurrency=concurrency, skipped=skipped)
        async for view in views:
            writer.write(lead_record(view, custom))
            done += 1
            if done % 100 == 0:
                _progress(f"{done} leads…", False)
    return done, gone


@export_app.command("facts")
def facts(
    since: Annotated[
        str | None, typer.Option(help="From this day or moment (YYYY-MM-DD[THH:MM], UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Before this day or moment (excluded), UTC.")
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option(help="Only facts of this kind (repeat for several).")
    ] = None,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="jsonl (one JSON a line) or csv.")
    ] = ExportFormat.JSONL,
    output: Output = None,
    home: HomeOption = None,
) -> None:
    """Export the facts log, ordered by lead then moment (ids only, no addresses)."""
    from nurture.adapters.factlog import open_fact_store

    unknown = sorted(set(kind or ()) - set(FACT_KINDS))
    if unknown:
        raise typer.BadParameter(
            f"no fact kind {', '.join(unknown)}; the kinds are {', '.join(FACT_KINDS)}",
            param_hint="--kind",
        )
    first, after = _utc(since, "--since"), _utc(until, "--until")
    settings = Settings(home=project_home(home, "nurture export facts"))

    async def run(writer: RecordWriter) -> int:
        store = open_fact_store(settings.ledger_url, settings.home)
        done = 0
        try:
            async for fact in store.read(kind or None, first, after):
                writer.write(fact_record(fact))
                done += 1
                if done % 1000 == 0:
                    _progress(f"{done} facts…", False)
        finally:
            await store.close()
        return done

    with ExitStack() as stack:
        try:
            done = asyncio.run(run(RecordWriter(_open(output, stack), fmt, FACT_COLUMNS)))
        except BrokenPipeError:
            _reader_gone()
    _progress(f"{done} facts exported", True)


def _utc(text: str | None, hint: str) -> datetime | None:
    """A day (its midnight) or a moment; without an offset, in UTC."""
    return local_moment(text, UTC, hint)


def _open(output: Path | None, stack: ExitStack) -> TextIO:
    if output is None:
        return sys.stdout
    # newline="": the CSV writer ends its lines in CRLF itself.
    return stack.enter_context(output.open("w", encoding="utf-8", newline=""))


def _reader_gone() -> NoReturn:
    """The reader of stdout left (``| head``): stop quietly, as ``cat`` does. Stdout
    points at nothing first, so the interpreter's last flush has nowhere to fail."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise typer.Exit(0)


def _progress(line: str, last: bool) -> None:
    """A progress line on stderr, rewritten in place, for a person at a terminal only."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\x1b[K{line}" + ("\n" if last else ""))
        sys.stderr.flush()
