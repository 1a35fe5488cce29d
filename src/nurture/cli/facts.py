"""``nurture facts backfill``: the facts of leads that lived before the facts log.

Every running lead's workflow answers its ``logged_facts`` query with every fact its state
proves, under the same ids its live log uses; this command lists the running leads through
visibility, asks each (a few at a time), and appends what they answer to the facts store,
one transaction per batch of leads. The store keeps a fact once by its id, so a second run,
or a run after an interrupted one, adds only what is missing.

Messages leave facts the state cannot prove (each form post, event, opt-out): a lead that
lived before the log gets those it can prove, which are what the funnel reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from nurture.cli.common import connect_temporal, exit_skipping_teardown
from nurture.config.settings import Settings

if TYPE_CHECKING:
    from temporalio.client import Client

    from nurture.adapters.factlog import FactStore
    from nurture.domain.factlog import Fact

__all__ = ["RUNNING_LEADS", "Backfill", "backfill", "backfill_facts", "facts_app", "running_leads"]

facts_app = typer.Typer(help="The facts log the reports read.", no_args_is_help=True)

RUNNING_LEADS = "WorkflowType = 'LeadWorkflow' AND ExecutionStatus = 'Running'"
"""The visibility query of the leads to backfill."""
_QUERY_TIMEOUT = timedelta(seconds=30)


@dataclass
class Backfill:
    """What a backfill did."""

    leads: int = 0
    facts: int = 0
    new: int = 0
    failed: list[str] = field(default_factory=list)
    """Workflow ids whose query failed (ended meanwhile, no worker answered, or the worker
    could not replay the lead's history)."""


async def running_leads(client: Client) -> AsyncIterator[str]:
    """The workflow ids of the running leads, as visibility lists them."""
    async for found in client.list_workflows(RUNNING_LEADS):
        yield found.id


async def backfill_facts(
    client: Client,
    store: FactStore,
    workflow_ids: AsyncIterator[str],
    *,
    concurrency: int = 8,
    batch: int = 200,
    advance: Callable[[], None] = lambda: None,
) -> Backfill:
    """Ask each lead for its facts, ``concurrency`` at a time, and append them to ``store``
    per ``batch`` leads; ``advance`` is called once per lead asked."""
    done = Backfill()
    gate = asyncio.Semaphore(concurrency)
    chunk: list[str] = []
    async for workflow_id in workflow_ids:
        chunk.append(workflow_id)
        if len(chunk) >= batch:
            await _one_batch(client, store, chunk, gate, done, advance)
            chunk = []
    if chunk:
        await _one_batch(client, store, chunk, gate, done, advance)
    return done


async def _one_batch(
    client: Client,
    store: FactStore,
    workflow_ids: Sequence[str],
    gate: asyncio.Semaphore,
    done: Backfill,
    advance: Callable[[], None],
) -> None:
    from temporalio.client import WorkflowQueryFailedError, WorkflowQueryRejectedError
    from temporalio.service import RPCError

    from workflows import LeadWorkflow

    unanswered = (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError)

    async def ask(workflow_id: str) -> list[Fact] | None:
        async with gate:
            handle = client.get_workflow_handle_for(LeadWorkflow.run, workflow_id)
            try:
                return await handle.query(LeadWorkflow.logged_facts, rpc_timeout=_QUERY_TIMEOUT)
            except unanswered:
                # Ended meanwhile, no worker, or a run its worker cannot replay: said at
                # the end, and the other leads are written all the same.
                done.failed.append(workflow_id)
                return None
            finally:
                advance()

    answers = [a for a in await asyncio.gather(*map(ask, workflow_ids)) if a is not None]
    facts = [fact for answer in answers for fact in answer]
    done.leads += len(answers)
    done.facts += len(facts)
    if facts:
        done.new += await store.append(facts)


class _Rate(ProgressColumn):
    """Leads per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("- leads/s" if speed is None else f"{speed:.1f} leads/s", style="cyan")


@facts_app.command("backfill")
def backfill(
    concurrency: Annotated[int, typer.Option(min=1, help="Leads asked at once.")] = 8,
    batch: Annotated[int, typer.Option(min=1, help="Leads written per transaction.")] = 200,
) -> None:
    """Write the facts every running lead's state proves to the facts log: for leads that
    lived before it. Safe to run again (it adds only what is missing)."""
    from nurture.adapters.factlog import open_fact_store

    settings = Settings()
    console = Console(stderr=True)

    async def run() -> Backfill:
        client = await connect_temporal(settings.temporal)
        store = open_fact_store(settings.ledger_url, settings.home)
        total = (await client.count_workflows(RUNNING_LEADS)).count
        columns = (
            TextColumn("leads"),
            BarColumn(),
            MofNCompleteColumn(),
            _Rate(),
            TimeRemainingColumn(),
        )
        try:
            with Progress(*columns, console=console) as progress:
                task = progress.add_task("leads", total=total)
                return await backfill_facts(
                    client,
                    store,
                    running_leads(client),
                    concurrency=concurrency,
                    batch=batch,
                    advance=lambda: progress.advance(task),
                )
        finally:
            await store.close()

    done = asyncio.run(run())
    typer.echo(f"{done.leads} leads, {done.facts} facts, {done.new} new")
    if done.failed:
        typer.echo(f"{len(done.failed)} leads did not answer: {', '.join(done.failed)}", err=True)
    exit_skipping_teardown(1 if done.failed else 0)
