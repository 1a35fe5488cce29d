"""The local SMTP sink (``nurture sink``) and what it received (``nurture outbox``)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from nurture.cli.common import say, stop_requested
from nurture.config.folder import OutboxLocation, ProjectNotFound, locate_outbox, source_checkout
from nurture.config.settings import Settings

__all__ = ["outbox", "sink"]


def sink(
    folder: Annotated[
        Path | None, typer.Option(help="Where to keep messages; default: what outbox reads.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 1025,
) -> None:
    """Run the local SMTP sink, keeping every message it receives."""
    from nurture.adapters.mail.sink import serve_sink

    stopped = stop_requested()
    where = _outbox_location(folder).folder
    controller = serve_sink(where, host, port, Settings().public_url)
    say(f"SMTP sink on {host}:{port}, keeping messages in {where}")
    while not stopped():
        time.sleep(0.2)
    controller.stop()


def outbox(
    folder: Annotated[
        Path | None,
        typer.Option(
            help="The sink's folder; default: NURTURE_OUTBOX_DIR, else .nurture/outbox in "
            "the project folder (found as `nurture dev --help` says)."
        ),
    ] = None,
    show: Annotated[int | None, typer.Option(help="Print message N (1 = oldest) in full.")] = None,
    html: Annotated[bool, typer.Option(help="With --show, print the HTML part.")] = False,
) -> None:
    """List the messages the local SMTP sink received."""
    from nurture.adapters.mail.sink import read_outbox

    location = _outbox_location(folder)
    where = _describe(location)
    if not location.folder.is_dir():
        typer.echo(
            f"no outbox at {where}: the folder does not exist (`nurture dev` makes it)", err=True
        )
        raise typer.Exit(1)
    messages = read_outbox(location.folder)
    if show is not None:
        if not 1 <= show <= len(messages):
            typer.echo(f"no message {show}: the outbox {where} holds {len(messages)}", err=True)
            raise typer.Exit(1)
        m = messages[show - 1]
        typer.echo(f"To: {m.to}\nSubject: {m.subject}\nMessage-ID: {m.message['Message-ID']}\n")
        typer.echo(m.body("html" if html else "plain"))
        return
    count = f"{len(messages)} message{'s' if len(messages) > 1 else ''}"
    typer.echo(f"{count} in the outbox {where}" if messages else f"the outbox {where} is empty")
    for number, m in enumerate(messages, 1):
        date = m.message["Date"] or ""
        typer.echo(f"{number:>4}  {date}  {m.to}  {m.subject}")


def _outbox_location(folder: Path | None) -> OutboxLocation:
    """The sink's folder as ``nurture.config.folder.locate_outbox`` finds it from here."""
    try:
        return locate_outbox(folder, Path.cwd(), os.environ, source_checkout())
    except ProjectNotFound as exc:
        typer.echo(f"{exc}; pass --folder, or set NURTURE_OUTBOX_DIR", err=True)
        raise typer.Exit(1) from exc


def _describe(location: OutboxLocation) -> str:
    """The folder, and how it was found unless that is where the person stands."""
    if location.found is None:
        return str(location.folder)
    return f"{location.folder} ({location.found})"
