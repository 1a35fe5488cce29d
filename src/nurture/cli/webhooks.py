"""``nurture webhooks``: the outbound webhooks given up on (dead letters), and their replay.

A delivery a receiver refused (a 4xx) or kept failing past its subscription's
``give_up_after`` stays in its lead's webhook workflow as a dead letter; the lead's other
events went on. ``list`` shows them (asking each running webhook workflow, through Temporal
directly, as ``nurture sequences`` does); ``replay`` queues them again, each lead's in their
original order, ahead of anything queued since, once the receiver is fixed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError

from nurture.cli.common import connect_temporal, exit_skipping_teardown, show
from nurture.config.settings import Settings
from nurture.domain.webhooks import DeadLetter, event_of

__all__ = ["dead_letter_table", "list_dead_letters", "replay", "webhooks_app"]

T = TypeVar("T")

webhooks_app = typer.Typer(
    help="Outbound webhooks (CRM sync): deliveries given up on, and their replay.",
    no_args_is_help=True,
)

_LEAD = typer.Option("--lead", help="Only this lead's (its id, as `nurture lead show` gives).")


@webhooks_app.command("list")
def list_dead_letters(
    lead: Annotated[str | None, _LEAD] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the dead letters: lead, subscription, event, attempts, last error, when."""
    from nurture.adapters.temporal.webhooks import dead_letters

    async def run() -> list[DeadLetter]:
        client = await connect_temporal(Settings().temporal)
        return await dead_letters(client, lead)

    letters = _answered(run())
    if as_json:
        show([letter.model_dump(mode="json") for letter in letters])
    elif not letters:
        typer.echo("No dead letters: every webhook was delivered or is still being tried.")
    else:
        Console(highlight=False).print(dead_letter_table(letters))
        typer.echo("Replay them with `nurture webhooks replay --all` (or --lead ID).")
    exit_skipping_teardown()


@webhooks_app.command("replay")
def replay(
    lead: Annotated[str | None, _LEAD] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every lead's dead letters (one of --lead, --all).")
    ] = False,
) -> None:
    """Send the dead letters again, each lead's in their original order."""
    from nurture.adapters.temporal.webhooks import replay_dead_letters

    if (lead is None) == (not every):
        typer.echo("Name a lead (--lead ID) or replay them all (--all).", err=True)
        raise typer.Exit(1)

    async def run() -> int:
        client = await connect_temporal(Settings().temporal)
        return await replay_dead_letters(client, lead)

    count = _answered(run())
    noun = "dead letter" if count == 1 else "dead letters"
    typer.echo(f"{count} {noun} queued again" + (f" for lead {lead}." if lead else "."))
    exit_skipping_teardown()


def _answered(call: Coroutine[Any, Any, T]) -> T:
    """What ``call`` returns; a workflow no worker answered exits 1 saying so."""
    try:
        return asyncio.run(call)
    except (RPCError, WorkflowQueryFailedError, WorkflowUpdateFailedError) as exc:
        typer.echo(f"A webhook workflow did not answer ({exc}): is a worker running?", err=True)
        exit_skipping_teardown(1)


def dead_letter_table(letters: Sequence[DeadLetter]) -> Table:
    """The dead letters as a table, one row each, oldest first per lead."""
    table = Table(title="Dead letters", title_justify="left")
    # On a narrow terminal the long values fold; every column keeps room to be read.
    table.add_column("lead", overflow="fold", min_width=10)
    table.add_column("subscription", overflow="fold", min_width=12)
    table.add_column("event", overflow="fold", min_width=8)
    table.add_column("attempts", justify="right", min_width=8)
    table.add_column("last error", overflow="fold", min_width=10)
    table.add_column("given up (UTC)", min_width=10)
    for letter in letters:
        delivery = letter.delivery
        event = event_of(delivery.fact.kind)
        table.add_row(
            delivery.fact.lead_id,
            delivery.subscription,
            event if event == delivery.fact.kind else f"{event} ({delivery.fact.kind})",
            "?" if letter.attempts is None else str(letter.attempts),
            letter.error,
            letter.failed_at.strftime("%Y-%m-%d %H:%M"),
        )
    return table
