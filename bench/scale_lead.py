"""A long-lived lead: one lead sent many events through the API, then its histories read
back, run by run (continue-as-new), to see whether each event costs the same at the
10,000th as at the first and whether what a run carries into the next stays bounded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.service import RPCError

from bench.lead_runs import RunFigures, handled_times, run_figures, window_rates
from bench.scale_intake import ThankYous, post_with_retry
from bench.scale_report import Findings, kib
from nurture.devtools.stack import DEV_API_KEY
from nurture.domain.identity import workflow_id_for

__all__ = ["LongLead", "LongLeadFigures", "lead_runs", "rates"]

THANK_YOU_WITHIN = 300.0
"""Seconds the long-lived lead's thank-you may take: the worker may still be catching up."""


@dataclass
class LongLeadFigures:
    """What the long-lived lead showed."""

    lead_id: str = ""
    sent: int = 0
    failed: int = 0
    post_seconds: float = 0.0
    drain_seconds: float = 0.0
    accepted_rates: list[float] = field(default_factory=list)
    handled_rates: list[float] = field(default_factory=list)
    runs: list[RunFigures] = field(default_factory=list)
    sequence_runs: list[RunFigures] = field(default_factory=list)

    def add_sending(self, findings: Findings, section: str, window: int, caught_up: str) -> None:
        """The events accepted, at what rate per window, and when the lead caught up."""
        rate = self.sent / (self.post_seconds or 1e-9)
        failed = f", {self.failed:,} refused" if self.failed else ""
        findings.add(
            section,
            "accepted by the API",
            f"{self.sent:,} in {self.post_seconds:.1f}s, {rate:.0f}/s{failed}",
            events=self.sent,
            refused=self.failed,
            post_seconds=round(self.post_seconds, 1),
        )
        findings.add(
            section,
            f"accepted per {window} (/s)",
            rates(self.accepted_rates),
            accepted_per_window=[round(r, 1) for r in self.accepted_rates],
        )
        findings.add(
            section,
            "caught up after the last post",
            caught_up,
            drain_seconds=round(self.drain_seconds, 1),
        )

    def add_runs(self, findings: Findings, section: str, window: int) -> None:
        """How fast the workflow handled the events, and each run of it and its sequences."""
        findings.add(
            section,
            f"handled per {window} (/s)",
            rates(self.handled_rates),
            handled_per_window=[round(r, 1) for r in self.handled_rates],
        )
        findings.add(
            section,
            "runs",
            f"{len(self.runs)} ({len(self.runs) - 1} continue-as-new)",
            runs=[vars(run) for run in self.runs],
        )
        for number, run in enumerate(self.runs, 1):
            failed = ", ".join(f"{n} {cause}" for cause, n in run.failed_tasks)
            findings.add(
                section,
                f"run {number}",
                f"{run.events:,} events, {kib(run.bytes)}, {run.signals:,} signals; "
                f"state in {kib(run.carried_in)}, out {kib(run.carried_out)}"
                + (f"; failed tasks: {failed}" if failed else ""),
            )
        last = next((run for run in reversed(self.runs) if run.largest_out), None)
        if last is not None:
            findings.add(
                section,
                "largest parts carried",
                ", ".join(f"{name} {kib(size)}" for name, size in last.largest_out),
            )
        sequences = self.sequence_runs
        findings.add(
            section,
            "its sequences",
            f"{len(sequences)} runs, {sum(r.events for r in sequences):,} events, "
            f"{kib(sum(r.bytes for r in sequences))}",
            sequence_runs=[vars(run) for run in sequences],
        )


@dataclass
class LongLead:
    """Creates the lead, posts ``events`` events with ``concurrency`` requests open, waits
    until its workflow has handled them all, then reads its histories."""

    api: httpx.AsyncClient
    client: Client
    sink: ThankYous
    tag: str
    event_type: str
    properties: dict[str, str]
    concurrency: int
    window: int
    every: float
    say: Callable[[str], None]
    figures: LongLeadFigures = field(default_factory=LongLeadFigures)
    began: float = 0.0
    """When the first event was posted (epoch seconds): the windows start there."""

    @property
    def marker(self) -> str:
        """The prefix of this benchmark's event ids, found again in the signals' payloads."""
        return f"bench-{self.tag}-ev-"

    async def create(self) -> None:
        email = f"long-{self.tag}@bench.example"
        response = await post_with_retry(
            self.api, "/v1/forms/white-paper", "submission_id", data={"email": email}
        )
        self.figures.lead_id = response.json()["lead_id"]
        async with asyncio.timeout(THANK_YOU_WITHIN):
            await self.sink.wait_for(email)

    async def send(self, events: int) -> None:
        """Post the events, noting when each was accepted (202)."""
        requests = asyncio.Semaphore(self.concurrency)
        accepted: list[float] = []
        self.began = time.time()
        last = time.monotonic()

        async def one(number: int) -> None:
            body = {
                "lead_id": self.figures.lead_id,
                "type": self.event_type,
                "properties": self.properties,
                "event_id": f"{self.marker}{number}",
            }
            try:
                await post_with_retry(
                    self.api,
                    "/v1/events",
                    "event_id",
                    json=body,
                    headers={"X-API-Key": DEV_API_KEY},
                )
            except httpx.HTTPError:
                self.figures.failed += 1
            else:
                accepted.append(time.time())
            finally:
                requests.release()

        tasks: set[asyncio.Task[None]] = set()
        try:
            for number in range(events):
                await requests.acquire()
                task = asyncio.create_task(one(number))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                if time.monotonic() - last >= self.every:
                    last = time.monotonic()
                    self.say(f"  {len(accepted):>7,}/{events:,} events accepted")
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            self.figures.sent = len(accepted)
            self.figures.post_seconds = time.time() - self.began
            self.figures.accepted_rates = window_rates(self.began, accepted, self.window)

    async def drain(self) -> None:
        """Wait until the lead's latest run has no workflow task pending, twice in a row."""
        handle = self.client.get_workflow_handle(workflow_id_for(self.figures.lead_id))
        began, idle = time.monotonic(), 0
        while idle < 2:
            await asyncio.sleep(0.5)
            described = await handle.describe()
            busy = described.raw_description.HasField("pending_workflow_task")
            idle = 0 if busy else idle + 1
        self.figures.drain_seconds = time.monotonic() - began

    async def read_histories(self) -> None:
        """Each run's figures, and the rate at which the workflow handled the events."""
        runs = await lead_runs(self.client, workflow_id_for(self.figures.lead_id))
        self.figures.runs = [run_figures(events) for events in runs]
        marker = self.marker.encode()
        handled = [at for events in runs for at in handled_times(events, marker)]
        self.figures.handled_rates = window_rates(self.began, handled, self.window)
        async for found in self.client.list_workflows(
            f'WorkflowId STARTS_WITH "{workflow_id_for(self.figures.lead_id)}/"'
        ):
            handle = self.client.get_workflow_handle(found.id, run_id=found.run_id)
            events = [event async for event in handle.fetch_history_events()]
            self.figures.sequence_runs.append(run_figures(events))


async def lead_runs(client: Client, workflow_id: str) -> list[list[HistoryEvent]]:
    """The events of every run of a workflow, oldest run first: the chain walked back from
    the latest run through each run's ``continued_execution_run_id``."""
    runs: list[list[HistoryEvent]] = []
    run_id: str | None = (await client.get_workflow_handle(workflow_id).describe()).run_id
    seen: set[str] = set()
    while run_id and run_id not in seen:
        seen.add(run_id)
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        try:
            events = [event async for event in handle.fetch_history_events()]
        except RPCError:  # an older run deleted by retention: the chain ends here
            break
        runs.insert(0, events)
        first = events[0].workflow_execution_started_event_attributes if events else None
        run_id = first.continued_execution_run_id if first else None
    return runs


def rates(values: list[float]) -> str:
    """Rates as whole numbers, one after the other."""
    return " ".join(f"{value:.0f}" for value in values) or "none"
