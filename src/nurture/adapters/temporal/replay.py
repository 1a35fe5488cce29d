"""Replays the histories of running workflows on the workflow code this process imported.

``nurture deploy check`` lists the running runs of each workflow type the code defines
(visibility), fetches their histories a few at a time and hands them to Temporal's
``Replayer`` a batch at a time: memory holds one batch, the server sees a bounded number
of reads at once. Which code is replayed is decided by the import of ``workflows`` (the
command runs in an interpreter whose path starts with the project folder, as the worker's
does); the replayer is built as the worker builds its ``Worker``: same data converter,
same runner, no interceptors.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

from temporalio import workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime, TelemetryConfig
from temporalio.service import RPCError
from temporalio.worker import Replayer

from nurture.adapters.temporal.runner import workflow_runner
from nurture.domain.deploycheck import Outcome, Verdict

__all__ = [
    "NO_PATCH",
    "RunRef",
    "code_version",
    "list_running",
    "pick",
    "replay_runs",
    "replayer_for",
    "running_query",
    "workflow_classes",
    "workflow_type_names",
]

NO_PATCH = "no patch marker"
"""The version of a run whose history records no patch: code from before any patch."""
_SEQUENCE = "SequenceWorkflow"


@dataclass(frozen=True)
class RunRef:
    """A run visibility listed as running."""

    workflow_id: str
    run_id: str
    workflow_type: str


def workflow_classes(package: ModuleType) -> list[type]:
    """Every workflow class ``package`` exports: what the worker registers (the private
    lookup is the SDK's own, how a worker reads a class's definition)."""
    exported = (getattr(package, name) for name in getattr(package, "__all__", ()))
    return [
        cls
        for cls in exported
        if inspect.isclass(cls) and workflow._Definition.from_class(cls) is not None
    ]


def replayer_for(classes: Sequence[type], *, sandboxed: bool) -> Replayer:
    """A replayer of ``classes`` set up as ``worker.py`` sets up its worker, but quiet:
    the SDK core would log a warning of its own for every run that fails, on stdout."""
    return Replayer(
        workflows=classes,
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(sandboxed=sandboxed),
        runtime=Runtime(telemetry=TelemetryConfig(logging=None)),
    )


def workflow_type_names(classes: Sequence[type]) -> set[str]:
    """The workflow type names ``classes`` define (a class's own, unless its ``defn`` names
    another)."""
    names = set()
    for cls in classes:
        definition = workflow._Definition.from_class(cls)
        if definition is not None and definition.name:
            names.add(definition.name)
    return names


_QUEUE = re.compile(r"[A-Za-z0-9_.:/-]+")


def running_query(task_queue: str, types: Sequence[str]) -> str:
    """The visibility query of the runs running now on ``task_queue``, of any type (one
    the new code no longer defines must be seen too), and of ``types`` on any queue (a
    check run with another ``TEMPORAL_TASK_QUEUE`` than the workers' still finds them)."""
    for name in (task_queue, *types):
        if not _QUEUE.fullmatch(name):
            raise ValueError(f"{name!r} cannot go into a visibility query")
    known = ", ".join(f"'{name}'" for name in sorted(types))
    where = f"TaskQueue = '{task_queue}'" + (f" OR WorkflowType IN ({known})" if types else "")
    return f"ExecutionStatus = 'Running' AND ({where})"


async def list_running(client: Client, task_queue: str, types: Sequence[str]) -> list[RunRef]:
    """Every run :func:`running_query` finds (ids only: a few bytes a run)."""
    query = running_query(task_queue, types)
    return [
        RunRef(found.id, found.run_id, found.workflow_type)
        async for found in client.list_workflows(query, page_size=1000)
    ]


def pick(runs: Sequence[RunRef], sample: int | None, rng: random.Random) -> list[RunRef]:
    """All the runs, or ``sample`` of them drawn at random (all when there are fewer)."""
    if sample is None or sample >= len(runs):
        return list(runs)
    return rng.sample(list(runs), sample)


def code_version(history: WorkflowHistory) -> str:
    """Which code path the run took: a sequence's ``name@version`` (from its input),
    another workflow's patch markers (or :data:`NO_PATCH`)."""
    started = history.events[0].workflow_execution_started_event_attributes
    if started.workflow_type.name == _SEQUENCE and started.input.payloads:
        given = json.loads(started.input.payloads[0].data)
        return f"{given.get('name', '?')}@{given.get('version', '?')}"
    patches = [
        json.loads(marker.details["patch-data"].payloads[0].data)["id"]
        for marker in (e.marker_recorded_event_attributes for e in history.events)
        if marker.marker_name == "core_patch"
    ]
    return f"patch {', '.join(dict.fromkeys(patches))}" if patches else NO_PATCH


async def replay_runs(
    client: Client,
    replayer: Replayer,
    runs: Sequence[RunRef],
    *,
    batch: int,
    concurrency: int,
    advance: Callable[[int], None],
) -> list[Outcome]:
    """Each run's outcome: histories fetched ``concurrency`` at once, replayed ``batch``
    at a time; ``advance`` is told how many runs each batch settled."""
    gate = asyncio.Semaphore(concurrency)
    outcomes: list[Outcome] = []
    for start in range(0, len(runs), batch):
        chunk = runs[start : start + batch]
        fetched = await asyncio.gather(*(_fetch(client, run, gate) for run in chunk))
        histories = []
        for run, found in zip(chunk, fetched, strict=True):
            if isinstance(found, WorkflowHistory):
                histories.append((run, found))
            else:
                outcomes.append(
                    Outcome(
                        run.workflow_id,
                        run.run_id,
                        run.workflow_type,
                        "?",
                        Verdict.UNFETCHED,
                        found,
                    )
                )
        if histories:
            outcomes += await _replay(replayer, histories)
        advance(len(chunk))
    return outcomes


async def _fetch(client: Client, run: RunRef, gate: asyncio.Semaphore) -> WorkflowHistory | str:
    """The run's whole history, else why it could not be read (gone, or the server failed)."""
    async with gate:
        try:
            return await client.get_workflow_handle(
                run.workflow_id, run_id=run.run_id
            ).fetch_history()
        except RPCError as exc:
            return str(exc)


async def _replay(
    replayer: Replayer, histories: Sequence[tuple[RunRef, WorkflowHistory]]
) -> list[Outcome]:
    """The outcome of each history, replayed together."""

    async def each() -> AsyncIterator[WorkflowHistory]:
        for _, history in histories:
            yield history

    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    outcomes = []
    for run, history in histories:
        failure = results.replay_failures.get(history.run_id)
        verdict = Verdict.REPLAYED
        if failure is not None:
            diverged = isinstance(failure, workflow.NondeterminismError)
            verdict = Verdict.DIVERGED if diverged else Verdict.FAILED
        outcomes.append(
            Outcome(
                run.workflow_id,
                run.run_id,
                run.workflow_type,
                code_version(history),
                verdict,
                "" if failure is None else str(failure),
            )
        )
    return outcomes
