"""``nurture import``: data from other tools, as CSV files. ``leads`` sends a lead export to
the API (``POST /v1/leads/import``), ``suppressions`` a suppression list
(``POST /v1/suppressions/import``), both with an admin key; the API reads the file as it
arrives: the same command works against ``nurture dev`` and a docker-compose deployment,
and the file is never held in memory on either side."""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import httpx
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from nurture.cli.common import DEFAULT_API, ApiKey, ApiUrl, api_error
from nurture.domain.models import AcquisitionSource
from nurture.services.export import ExportFormat, RecordWriter
from nurture.services.lead_csv import PRESETS
from nurture.services.suppression_csv import reason_for

__all__ = ["import_app"]

import_app = typer.Typer(
    help="Bring data in from other tools (CSV files exported from Mautic, HubSpot...).",
    no_args_is_help=True,
)
_CHUNK = 64 * 1024

CsvFile = Annotated[
    Path,
    typer.Argument(
        exists=True, dir_okay=False, readable=True, help="The CSV file (a header line first)."
    ),
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Check every row and report; write nothing.")
]
MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="role=HEADER: the column holding the address (email=...) or the reason "
        "(reason=...), when its name is not a usual one.",
    ),
]
ReasonOption = Annotated[
    str | None,
    typer.Option(
        help="The reason of rows that give none (unsubscribed, hard_bounce, complaint); "
        "needed when the file has no reason column."
    ),
]


@import_app.command("suppressions")
def suppressions(
    file: CsvFile,
    dry_run: DryRun = False,
    map_: MapOption = None,
    reason: ReasonOption = None,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = "dev-key",
) -> None:
    """Put the addresses of a CSV file on the suppression list (unsubscribed, bounced...).

    Unsubscribed or complained elsewhere: no marketing mail to them; bounced: no mail at all.
    Bad rows are reported and skipped; importing a file again changes nothing. Exits 1 if a
    row was bad.
    """
    console = Console(highlight=False)
    params: dict[str, Any] = {"dry_run": dry_run, "map": map_ or []}
    if reason is not None:
        params["reason"] = reason_for(reason)
        if params["reason"] is None:
            raise typer.BadParameter(
                f"{reason!r}: give unsubscribed, hard_bounce or complaint", param_hint="--reason"
            )
    with file.open("rb") as stream:
        answer = _send(console, stream, file.stat().st_size, api_url, api_key, params)
    _summary(console, answer)
    if answer["bad"]:
        raise typer.Exit(1)


LeadMapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="role=HEADER: the column holding a role (email, first_name, last_name, company, "
        "stage, consent, source...) or a custom field, when its name is not a usual one.",
    ),
]
PresetOption = Annotated[
    str | None,
    typer.Option(help=f"The tool that exported the file ({', '.join(PRESETS)}): its column names."),
]
SourceOption = Annotated[
    AcquisitionSource | None,
    typer.Option(help="Every row's acquisition source (otherwise the file's source column)."),
]
EnrolOption = Annotated[
    bool,
    typer.Option(
        "--enrol",
        help="Let the enrolment rules take the leads at once (otherwise they enter no "
        "sequence until they act: a form, a tracked event).",
    ),
]
ProblemsOption = Annotated[
    Path | None,
    typer.Option(
        "--problems",
        dir_okay=False,
        writable=True,
        help="Also write every bad row's problems to this CSV file (row, column, problem): "
        "the terminal lists the first 1,000.",
    ),
]
NameOption = Annotated[
    str | None,
    typer.Option(help="The import's name, kept as the leads' origin (default: the file's name)."),
]
LocaleOption = Annotated[
    str | None, typer.Option(help="The language of rows that give none (default: the project's).")
]


@import_app.command("leads")
def leads(
    file: CsvFile,
    dry_run: DryRun = False,
    map_: LeadMapOption = None,
    preset: PresetOption = None,
    source: SourceOption = None,
    enrol: EnrolOption = False,
    name: NameOption = None,
    locale: LocaleOption = None,
    problems: ProblemsOption = None,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = "dev-key",
) -> None:
    """Import leads exported from another tool (Mautic, HubSpot, a trade show's list).

    No thank-you and no form behaviour: each lead keeps the file's source, consent (unknown
    consent means no marketing mail until a form gives it) and stage (a customer stays a
    customer). Bad rows are reported and skipped; importing a file again changes nothing,
    and an import stopped halfway completes when run again. Exits 1 if a row was bad.
    """
    console = Console(highlight=False)
    batch = name or re.sub(r"[^A-Za-z0-9_.-]+", "-", file.stem).strip("-")[:64] or "import"
    params: dict[str, Any] = {"dry_run": dry_run, "map": map_ or [], "name": batch}
    params["enrol"] = enrol
    for option, value in (("preset", preset), ("source", source), ("locale", locale)):
        if value is not None:
            params[option] = str(value)
    with contextlib.ExitStack() as stack:
        report = None
        if problems is not None:
            out = stack.enter_context(problems.open("w", newline="", encoding="utf-8"))
            report = RecordWriter(out, ExportFormat.CSV, ("row", "column", "problem"))
        answer = _send_in_parts(console, file, api_url, api_key, params, report)
    _lead_summary(console, answer)
    if answer["bad"]:
        raise typer.Exit(1)


PART_ROWS = 500
"""Rows per request: the bar then moves as the API finishes each part (a single stream
would fill the network's buffers long before the rows are taken)."""


def _records(stream: BinaryIO) -> Iterator[bytes]:
    """The file's records as raw bytes, the header first: a record ends at a line break
    after an even number of quote characters (a quoted field may hold line breaks)."""
    record: list[bytes] = []
    quotes = 0
    for line in stream:
        record.append(line)
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            yield b"".join(record)
            record, quotes = [], 0
    if record:
        yield b"".join(record)


def _parts(stream: BinaryIO) -> Iterator[tuple[bytes, int, int]]:
    """Each part to send (the header and up to ``PART_ROWS`` records), the data rows before
    it, and its size in the file."""
    records = _records(stream)
    header = next(records, b"")
    if not header.endswith(b"\n"):
        header += b"\n"
    before = 0
    part: list[bytes] = []
    for record in records:
        part.append(record)
        if len(part) == PART_ROWS:
            yield header + b"".join(part), before, sum(map(len, part))
            before += len(part)
            part = []
    if part or before == 0:
        yield header + b"".join(part), before, sum(map(len, part)) + len(header)


def _send_in_parts(
    console: Console,
    file: Path,
    api_url: str,
    key: str,
    params: dict[str, Any],
    report: RecordWriter | None = None,
) -> dict[str, Any]:
    """The whole file's summary, sent part by part behind a progress bar (on a terminal)."""
    url = f"{api_url.rstrip('/')}/v1/leads/import"
    headers = {"X-API-Key": key, "Content-Type": "text/csv"}
    total: dict[str, Any] = {"rows": 0, "imported": 0, "bad": 0, "problems": [], "columns": {}}
    seen: set[str] = set()
    repeats = 0
    with _progress(console) as progress, file.open("rb") as stream:
        label = "checking" if params["dry_run"] else "importing"
        task = progress.add_task(label, total=file.stat().st_size, lines=0, unit="rows")
        for body, before, size in _parts(stream):
            query = {**params, "first_row": before, "marks": True}
            try:
                response = _post(url, content=body, params=query, headers=headers)
            except httpx.HTTPError as exc:
                progress.stop()
                console.print(
                    f"Cannot reach the API at {api_url}: {exc} (is `nurture dev` running?)"
                )
                raise typer.Exit(2) from exc
            if response.status_code >= 400:
                progress.stop()
                _stopped(response, total)
            answer = response.json()
            for mark in answer.get("lead_marks") or ():
                repeats += mark in seen
                seen.add(mark)
            for field in ("rows", "imported", "bad"):
                total[field] += answer[field]
            total["problems"] += answer["problems"][: 1000 - len(total["problems"])]
            if report is not None:
                for problem in answer["problems"]:
                    report.write(problem)
            total.update(
                dry_run=answer["dry_run"], batch=answer["batch"], columns=answer["columns"]
            )
            progress.update(task, advance=size, lines=total["rows"])
    return {**total, "leads": len(seen), "repeats": repeats}


def _stopped(response: httpx.Response, total: dict[str, Any]) -> None:
    """An answer that ends the import: what the API said, and how far the file got."""
    done = f" ({total['imported']:,} rows were imported before)" if total["imported"] else ""
    if response.status_code == 503 and "summary" in response.text:
        typer.echo(f"{response.json()['detail']}{done}", err=True)
    else:
        typer.echo(api_error(response.status_code, response.text) + done, err=True)
    raise typer.Exit(1)


def _send(
    console: Console,
    stream: BinaryIO,
    size: int,
    api_url: str,
    key: str,
    params: dict[str, Any],
) -> dict[str, Any]:
    """The API's summary, the file streamed to it behind a progress bar (on a terminal)."""
    url = f"{api_url.rstrip('/')}/v1/suppressions/import"
    headers = {"X-API-Key": key, "Content-Type": "text/csv"}
    with _progress(console) as progress:
        label = "checking" if params["dry_run"] else "importing"
        task = progress.add_task(label, total=size, lines=0, unit="lines")

        def chunks() -> Iterator[bytes]:
            lines = 0  # lines, not rows: a quoted field may hold line breaks
            while chunk := stream.read(_CHUNK):
                lines += chunk.count(b"\n")
                progress.update(task, advance=len(chunk), lines=lines)
                yield chunk
            # The API still reads what the network holds: the rate stays that of the file.
            progress.stop_task(task)
            progress.update(task, description="finishing")

        try:
            response = _post(url, content=chunks(), params=params, headers=headers)
        except httpx.HTTPError as exc:
            progress.stop()
            console.print(f"Cannot reach the API at {api_url}: {exc} (is `nurture dev` running?)")
            raise typer.Exit(2) from exc
    if response.status_code >= 400:
        typer.echo(api_error(response.status_code, response.text), err=True)
        raise typer.Exit(1)
    answer: dict[str, Any] = response.json()
    return answer


def _post(url: str, **request: Any) -> httpx.Response:
    """POST with a small send buffer: the bar then follows what the API has read, not what
    the network holds (several megabytes on a fast link)."""
    options = [(socket.SOL_SOCKET, socket.SO_SNDBUF, _CHUNK)]
    # No read timeout: the API answers once the last row is in (minutes for a big file).
    timeout = httpx.Timeout(60, read=None)
    transport = httpx.HTTPTransport(socket_options=options)
    with httpx.Client(transport=transport, timeout=timeout) as client:
        return client.post(url, **request)


class _LineRate(ProgressColumn):
    """Lines (or rows) per second since the start."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.fields["lines"] / elapsed if elapsed > 0.5 else 0.0
        unit = task.fields["unit"]
        return Text(f"{rate:,.0f} {unit}/s" if rate else "", style="progress.data.speed")


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[lines]:,} {task.fields[unit]}"),
        _LineRate(),
        TimeRemainingColumn(),
        console=console,
        transient=True,  # the summary follows
        disable=not console.is_terminal,
    )


def _summary(console: Console, answer: dict[str, Any]) -> None:
    dry = answer["dry_run"]
    _problems(console, answer)
    verb = "would be imported" if dry else "imported"
    console.print(
        f"{answer['rows']:,} rows read: [bold]{answer['imported']:,} {verb}[/], "
        f"{answer['already']:,} already suppressed, {answer['bad']:,} bad rows."
    )
    if dry:
        console.print("Dry run: nothing was written.")


def _problems(console: Console, answer: dict[str, Any]) -> None:
    if not answer["problems"]:
        return
    table = Table("row", "column", "problem", title="Bad rows (skipped)", title_justify="left")
    for problem in answer["problems"]:
        table.add_row(str(problem["row"]), problem["column"], problem["problem"])
    console.print(table)
    listed = len({p["row"] for p in answer["problems"]})
    if answer["bad"] > listed:
        console.print(f"... and {answer['bad'] - listed:,} more bad rows not listed.")


def _lead_summary(console: Console, answer: dict[str, Any]) -> None:
    _problems(console, answer)
    dry = answer["dry_run"]
    verb = "would be imported" if dry else "imported"
    repeats = (
        f" ({answer['repeats']:,} naming a lead an earlier row named)" if answer["repeats"] else ""
    )
    console.print(
        f"{answer['rows']:,} rows read: [bold]{answer['imported']:,} {verb}[/]{repeats}, "
        f"{answer['leads']:,} leads, {answer['bad']:,} bad rows. "
        f"Origin: import:{answer['batch']}."
    )
    if dry:
        console.print("Dry run: nothing was written.")
