"""``nurture deploy check``: replay the running workflows on the code about to be deployed.

The code replayed is the project folder's, as ``nurture worker`` would run it: the
command starts again in a fresh interpreter whose import path begins with the folder of
the project's ``worker.py`` (so ``workflows`` is the project's own, edits included, not
the copy installed with nurture), the settings from the environment with
``NURTURE_HOME`` set to the project folder.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nurture.cli.common import (
    HomeOption,
    connect_temporal,
    exit_skipping_teardown,
    project_home,
    say,
    show,
)
from nurture.cli.deployment import WORKER_SCRIPT
from nurture.config.settings import Settings
from nurture.domain.deploycheck import DeployReport, Outcome, Verdict, build_report

if TYPE_CHECKING:  # the Temporal SDK loads only once the check runs
    from temporalio.client import Client

    from nurture.adapters.temporal.replay import RunRef

__all__ = ["check", "code_folder", "deploy_app"]

deploy_app = typer.Typer(help="Check a deployment before it happens.", no_args_is_help=True)

_CODE_ENV = "_NURTURE_DEPLOY_CHECK_CODE"
"""Set in the interpreter started on the project's code: the folder it was started for."""
_PROGRAM = "nurture deploy check"


def code_folder(home: Path) -> Path:
    """Where the worker's imports start: the folder of the project's ``worker.py``, links
    resolved as Python resolves a script's."""
    script = home / WORKER_SCRIPT
    if not script.is_file():
        typer.echo(f"{_PROGRAM}: no {WORKER_SCRIPT} in {home}, the project folder", err=True)
        raise typer.Exit(1)
    return script.resolve().parent


@deploy_app.command("check")
def check(
    home: HomeOption = None,
    sample: Annotated[
        int | None,
        typer.Option(min=1, help="Replay this many running workflows drawn at random, not all."),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Histories replayed together.")] = 50,
    concurrency: Annotated[int, typer.Option(min=1, help="Histories fetched at once.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Replay the histories of the running lead, sequence, router and webhook workflows on
    the project's workflow code: run it before restarting the workers on new code.

    Exits 0 when every one replays, 1 when any would fail, 2 when Temporal is unreachable.
    Settings come from the environment (TEMPORAL_ADDRESS, NURTURE_LEDGER_URL...)."""
    folder = project_home(home, _PROGRAM)
    code = code_folder(folder)
    if os.environ.get(_CODE_ENV) != str(code):
        options = ["--batch", str(batch), "--concurrency", str(concurrency)]
        options += ["--sample", str(sample)] if sample else []
        options += ["--json"] if as_json else []
        _restart_on(code, folder, ["deploy", "check", "--home", str(folder), *options])
    report = asyncio.run(_check(sample, batch, concurrency, quiet=as_json))
    if as_json:
        show(report.as_json())
    else:
        _print(Console(highlight=False), report, sample)
    exit_skipping_teardown(report.exit_code)


def _restart_on(code: Path, folder: Path, args: list[str]) -> None:
    """This command again, in an interpreter that imports ``workflows`` from ``code``
    (``-P``: not from the working directory either)."""
    path = os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, _CODE_ENV: str(code), "PYTHONPATH": path, "NURTURE_HOME": str(folder)}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-P", "-m", "nurture.cli", *args], env)


async def _check(sample: int | None, batch: int, concurrency: int, *, quiet: bool) -> DeployReport:
    import workflows
    from nurture.adapters.configstore import open_config_store
    from nurture.adapters.temporal import replay
    from nurture.domain.config import CATALOG

    settings = Settings()
    err = Console(stderr=True, highlight=False)
    # Every failed run is in the report; the SDK would also log each one's traceback.
    logging.getLogger("temporalio").setLevel(logging.CRITICAL)
    client = await connect_temporal(settings.temporal)
    if not quiet:
        code = Path(workflows.__file__).parent
        err.print(f"Replaying on the workflow code in {code}", markup=False, soft_wrap=True)
    classes = replay.workflow_classes(workflows)
    known = replay.workflow_type_names(classes)
    if not quiet:
        queue = settings.temporal.task_queue
        err.print(f"Listing the runs on task queue {queue!r}", markup=False, soft_wrap=True)
    runs = await _listed(client, settings, sorted(known))
    # A run of a type the new code no longer defines fails every task it gets: a failure
    # without a replay, each one counted, however small the sample.
    orphans = [
        Outcome(
            run.workflow_id,
            run.run_id,
            run.workflow_type,
            "not in the new code",
            Verdict.UNDEFINED,
            f"the new code defines no workflow {run.workflow_type}: every task of this "
            "run would fail",
        )
        for run in runs
        if run.workflow_type not in known
    ]
    picked = replay.pick([r for r in runs if r.workflow_type in known], sample, random.Random())
    store = open_config_store(settings.ledger_url, settings.home)
    try:  # the configuration snapshots the runs name, as the worker preloads them
        CATALOG.preload(await store.all())
    finally:
        await store.close()
    replayer = replay.replayer_for(classes, sandboxed=settings.worker.sandbox)
    with _progress(err, quiet) as progress:
        task = progress.add_task("replaying", total=len(picked))
        outcomes = await replay.replay_runs(
            client,
            replayer,
            picked,
            batch=batch,
            concurrency=concurrency,
            advance=lambda n: progress.advance(task, n),
        )
    return build_report([*orphans, *outcomes], running=len(runs))


async def _listed(client: Client, settings: Settings, types: list[str]) -> list[RunRef]:
    """The running runs on nurture's task queue; a server that stops answering exits 2 as
    an unreachable one, one that refuses the list (a namespace or permission it does not
    grant) exits 2 saying so."""
    from temporalio.service import RPCError, RPCStatusCode

    from nurture.adapters.temporal.replay import list_running

    try:
        return await list_running(client, settings.temporal.task_queue, types)
    except ValueError as exc:  # a queue name no query can hold
        say(f"TEMPORAL_TASK_QUEUE: {exc}", err=True)
        exit_skipping_teardown(2)
    except RPCError as exc:
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            say(f"Cannot reach Temporal at {settings.temporal.address}: {exc}", err=True)
        else:
            status = exc.status.name if exc.status else "error"
            say(f"Temporal refused to list the running workflows ({status}): {exc}", err=True)
        exit_skipping_teardown(2)


def _progress(console: Console, quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,  # the report follows
        disable=quiet or not console.is_terminal,
    )


def _print(console: Console, report: DeployReport, sample: int | None) -> None:
    if not report.running:
        console.print("No lead, sequence, router or webhook workflow is running: nothing to check.")
        return
    defined = report.running - report.undefined
    drawn = sample and report.sampled < defined
    picked = f"a sample of {report.sampled:,} of the" if drawn else "all"
    unfetched = f", {report.unfetched:,} gone before their history was read" * bool(
        report.unfetched
    )
    replayed_failed = report.failed - report.undefined
    console.print(
        f"Replayed {picked} {defined:,} running workflows: [bold]{report.replayed:,} go on[/], "
        f"[bold]{replayed_failed:,} would fail[/]{unfetched}."
    )
    if report.undefined:
        console.print(
            f"[bold]{report.undefined:,} running workflows are of a type the new code no "
            "longer defines[/]: every task they get would fail."
        )
    console.print()
    console.print(_table(report))
    for group in (g for g in report.groups if g.examples):
        shown = len(group.examples)
        console.print(
            f"\n[bold]{group.workflow_type} {escape(group.version)}[/]: {group.failed:,} would "
            f"fail{f', the first {shown}' if shown < group.failed else ''}:"
        )
        for example in group.examples:
            marks = {Verdict.FAILED: " [bold](failed)[/]", Verdict.UNDEFINED: " [bold](no code)[/]"}
            mark = marks.get(example.verdict, "")
            line = f"[red]✗[/] {escape(example.workflow_id)}{mark}"
            console.print(Padding(line, (0, 0, 0, 2)))
            console.print(Padding(escape(example.divergence), (0, 0, 0, 4)))
    if any(e.verdict is Verdict.FAILED for g in report.groups for e in g.examples):
        console.print(
            "\nA run marked [bold]failed[/] stopped on an error, not a divergence: a "
            "configuration not loaded means NURTURE_LEDGER_URL is not the workers' database."
        )
    if report.failed > report.undefined:
        console.print(
            "\n[red]Do not restart the workers on this code.[/] Keep the runs in flight "
            "working: put the change behind [bold]workflow.patched(...)[/] or add a sequence "
            "version (workflows/README.md, workflows/patches.py), then check again."
        )
    if report.undefined:
        console.print(
            "\n[red]Do not restart the workers on this code[/] while those runs are in "
            "flight: keep their workflow classes exported from workflows/__init__.py until "
            "they end (or end them on purpose, with `temporal workflow terminate`)."
        )
    else:
        console.print("\n[green]Every replayed workflow goes on with this code[/]: safe to deploy.")


def _table(report: DeployReport) -> Table:
    """One row a (type, version); the unfetched column only when some were."""
    unfetched = report.unfetched > 0
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("workflow")
    table.add_column("version", overflow="fold")
    table.add_column("go on", justify="right")
    table.add_column("fail", justify="right")
    if unfetched:
        table.add_column("gone", justify="right")
    for g in report.groups:
        cells = [g.workflow_type, escape(g.version), f"{g.replayed:,}"]
        cells.append(f"[red]{g.failed:,}[/]" if g.failed else "0")
        table.add_row(*cells, *([f"{g.unfetched:,}"] if unfetched else []))
    return table
