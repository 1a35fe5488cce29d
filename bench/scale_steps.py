"""The scale benchmark's steps on one started stack, each adding its figures to the
findings as soon as it has them (a step that fails later keeps what it found)."""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TextIO

import httpx
from temporalio.client import Client

from bench.procstat import ProcessMeter, ProcessUsage, Reading, cpu_seconds
from bench.scale_intake import Intake, ThankYous, duration
from bench.scale_lead import LongLead
from bench.scale_measure import (
    DatabaseSize,
    Timing,
    database_size,
    lead_history,
    settle,
    stage_counts,
    time_visibility,
    touches_due,
)
from bench.scale_report import Findings, kib, mib
from nurture.devtools.stack import DevStack

__all__ = ["Steps", "log_tail", "raw_usage"]

TEMPORAL_DB = "temporal.sqlite"
LEDGER_DB = "ledger.sqlite3"
DATABASES = (TEMPORAL_DB, LEDGER_DB)
QUIET_CPU = 2.0
"""The worker's CPU (% of a core) under which it counts as done with the new leads."""
TARGET_LEADS = 100_000
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Steps:
    """Each step of the benchmark, sharing the stack, its clients and what was created."""

    args: argparse.Namespace
    stack: DevStack
    client: Client
    api: httpx.AsyncClient
    sink: ThankYous
    log: TextIO
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    created: int = 0
    lead_ids: list[str] = field(default_factory=list)
    empty: dict[str, ProcessUsage] = field(default_factory=dict)
    told: set[str] = field(default_factory=set)
    """The dead processes whose log was shown."""
    meter: ProcessMeter = field(init=False)
    baselines: dict[str, DatabaseSize] = field(init=False)

    def __post_init__(self) -> None:
        pids = {p.name: p.process.pid for p in self.stack.processes if p.process is not None}
        self.meter = ProcessMeter(pids)
        self.baselines = {name: database_size(self.stack.data / name) for name in DATABASES}

    def say(self, line: str) -> None:
        print(line, file=self.log, flush=True)

    def usable(self, name: str, findings: Findings) -> bool:
        """False, noting why, when a process of the stack has died; the end of its log is
        shown the first time."""
        dead = self.stack.dead()
        if not dead:
            return True
        findings.errors[name] = f"skipped: {', '.join(dead)} exited"
        for process in self.stack.processes:
            if process.name in dead and process.name not in self.told:
                self.told.add(process.name)
                self.say(f"--- end of {process.name}'s log ---\n{log_tail(process.log)}")
        return False

    async def empty_stack(self, findings: Findings) -> None:
        """What the stack costs with no lead at all: what sleeping leads add is above it.
        The worker's start (imports, connections) is let pass first."""
        await self._settle(findings, "empty stack")
        self.say(f"watching the empty stack for {self.args.idle_seconds:.0f}s")
        self.empty = await self.meter.watch(self.args.idle_seconds)
        for name, usage in self.empty.items():
            findings.add(
                "empty stack",
                name,
                f"{usage.rss_mib:,.0f} MiB, {usage.cpu_mean:.1f}% of a core "
                f"(highest 1 s {usage.cpu_max:.1f}%)",
                **{name: raw_usage(usage)},
            )

    async def create_leads(self, findings: Findings) -> None:
        """Step 1: the leads, through the API, each until its thank-you arrived."""
        intake = Intake(
            self.api,
            self.sink,
            self.tag,
            self.args.concurrency,
            self.args.in_flight,
            self.args.progress,
            self.args.stall,
            self.say,
            self.stack.dead,
        )
        try:
            await intake.run(self.args.leads)
        finally:
            self.created, self.lead_ids = intake.thanked, intake.lead_ids
            rate = intake.thanked / intake.elapsed if intake.elapsed else 0.0
            findings.add(
                "intake",
                "leads thanked",
                f"{intake.thanked:,} of {self.args.leads:,} in {duration(intake.elapsed)}, "
                f"{rate:.1f}/s ({self.args.in_flight} in flight at most)",
                leads=intake.thanked,
                wanted=self.args.leads,
                seconds=round(intake.elapsed, 1),
                per_second=round(rate, 2),
            )
            if intake.failed:
                findings.add(
                    "intake",
                    "posts refused",
                    f"{intake.failed:,}: {intake.first_failure}",
                    failed=intake.failed,
                )
            if rate:
                findings.add(
                    "intake",
                    f"{TARGET_LEADS:,} leads at this rate",
                    duration(TARGET_LEADS / rate),
                    target_seconds=round(TARGET_LEADS / rate),
                )

    async def _settle(self, findings: Findings, section: str) -> None:
        """Wait (at most ``--settle`` seconds) for the worker to go quiet."""
        waited: float | None = None
        try:
            async with asyncio.timeout(self.args.settle):
                waited = await settle(self.meter, "worker", QUIET_CPU)
        except TimeoutError:
            quiet = f"not within {self.args.settle:.0f}s: measured anyway"
        else:
            quiet = f"after {waited:.0f}s"
        settled = waited and round(waited, 1)
        findings.add(section, "worker quiet", quiet, settled_seconds=settled)

    async def asleep(self, findings: Findings) -> None:
        """Step 2: once the worker is quiet, what the processes cost while leads sleep."""
        await self._settle(findings, "asleep")
        running = await stage_counts(self.client)
        due = await touches_due(self.client, timedelta(hours=1))
        findings.add(
            "asleep",
            "leads running (visibility)",
            f"{sum(running.values()):,}, {due:,} with a touch due within the hour",
            running=sum(running.values()),
            due_within_hour=due,
        )
        self.say(f"watching the sleeping leads for {self.args.idle_seconds:.0f}s")
        for name, usage in (await self.meter.watch(self.args.idle_seconds)).items():
            self._usage(findings, name, usage)

    def _usage(self, findings: Findings, name: str, usage: ProcessUsage) -> None:
        empty = self.empty.get(name)
        findings.add(
            "asleep",
            f"{name} RSS",
            f"{usage.rss_mib:,.0f} MiB (empty stack {empty.rss_mib if empty else 0:,.0f}, "
            f"peak since start {usage.peak_mib:,.0f})",
            **{name: raw_usage(usage)},
        )
        findings.add(
            "asleep",
            f"{name} CPU",
            f"{usage.cpu_mean:.1f}% of a core (empty stack {empty.cpu_mean if empty else 0:.1f}%, "
            f"highest 1 s {usage.cpu_max:.1f}%)",
        )

    async def storage(self, findings: Findings) -> None:
        """Step 3: what the databases grew by per lead, and one lead's histories."""
        for label, name in (("Temporal", TEMPORAL_DB), ("ledger and facts log", LEDGER_DB)):
            now = await asyncio.to_thread(database_size, self.stack.data / name)
            self._database(findings, label, now, self.baselines[name])
        await self._histories(findings)

    def _database(
        self, findings: Findings, label: str, now: DatabaseSize, before: DatabaseSize
    ) -> None:
        """Per lead: what the files grew by, and what the tables' pages grew by."""
        leads, key = self.created, label.split()[0].lower()
        files, used = (now.files - before.files) / leads, (now.used - before.used) / leads
        findings.add(
            "storage",
            f"{label}: SQLite per lead",
            f"{kib(used)} in tables, {kib(files)} on disk (files now {mib(now.files)})",
            **{f"{key}_bytes_per_lead": round(used), f"{key}_disk_bytes_per_lead": round(files)},
        )
        grown, indexes = now.growth(before), now.index_growth(before)
        whole = sum(grown.values()) or 1
        top = ", ".join(
            f"{name} {size * 100 / whole:.0f}% ({indexes.get(name, 0) * 100 / size:.0f}% indexes)"
            for name, size in list(grown.items())[:4]
            if size > 0
        )
        findings.add(
            "storage",
            f"{label}: growth by table",
            top,
            **{f"{key}_tables": grown, f"{key}_indexes": indexes},
        )

    async def _histories(self, findings: Findings) -> None:
        sample = [
            await lead_history(self.client, lead) for lead in self.lead_ids[: self.args.sample]
        ]
        if not sample:
            return
        own = statistics.mean(h.bytes for h in sample)
        events = statistics.mean(h.events for h in sample)
        runs = statistics.mean(h.sequence_runs for h in sample)
        sequences = statistics.mean(h.sequence_bytes for h in sample)
        findings.add(
            "storage",
            f"one lead's history (mean of {len(sample)})",
            f"{events:.0f} events, {kib(own)}; its sequences: {runs:.1f} runs, {kib(sequences)}",
            history_events=events,
            history_bytes=round(own),
            sequence_bytes=round(sequences),
        )

    async def visibility(self, findings: Findings) -> None:
        """Step 4: leads by stage, and the time to count and list one stage's."""
        counts = await stage_counts(self.client)
        stage = self.args.stage or max(counts, key=lambda name: counts[name])
        spread = ", ".join(f"{name} {count:,}" for name, count in counts.items() if count)
        findings.add("visibility", "leads by stage", spread or "none", by_stage=counts)
        count, page = await time_visibility(self.client, stage, self.args.page, self.args.repeat)
        findings.add(
            "visibility",
            f"count at stage {stage}",
            self._timing(count),
            stage=stage,
            count_ms=round(count.best * 1000, 1),
        )
        findings.add(
            "visibility",
            f"first page of {self.args.page}",
            self._timing(page),
            first_page_ms=round(page.best * 1000, 1),
        )

    def _timing(self, timing: Timing) -> str:
        best, median = timing.best * 1000, timing.median * 1000
        return f"{timing.result:,} in {best:.0f} ms (median {median:.0f} ms of {self.args.repeat})"

    async def long_lead(self, findings: Findings) -> None:
        """Step 5: one lead sent many events, and what its runs show."""
        args = self.args
        pairs = [p.partition("=") for p in args.event_property or ["section=blog"]]
        lead = LongLead(
            self.api,
            self.client,
            self.sink,
            self.tag,
            args.event_type,
            {name: value for name, _, value in pairs},
            args.event_concurrency,
            args.window,
            args.progress,
            self.say,
        )
        section = f"long-lived lead ({args.events:,} {args.event_type} events)"
        await lead.create()
        before = self.meter.sample()
        caught_up = "not waited for"
        try:
            await lead.send(args.events)
            caught_up = await self._drain(lead)
        finally:
            after = self.meter.sample()
            lead.figures.add_sending(findings, section, self.args.window, caught_up)
            self._cpu(findings, section, before, after, lead.figures.sent)
        await lead.read_histories()
        lead.figures.add_runs(findings, section, self.args.window)

    async def _drain(self, lead: LongLead) -> str:
        """Wait for the lead to catch up, and say how long it took. If it does not in time,
        its histories are still read: they show how far it got."""
        patience = max(300.0, self.args.events / 10)
        try:
            async with asyncio.timeout(patience):
                await lead.drain()
        except TimeoutError:
            return f"not within {patience:.0f}s"
        return f"{lead.figures.drain_seconds:.1f}s"

    def _cpu(
        self,
        findings: Findings,
        section: str,
        before: dict[str, Reading],
        after: dict[str, Reading],
        sent: int,
    ) -> None:
        spent = {
            name: cpu_seconds(before[name], after[name]) * 1000 / max(1, sent)
            for name in before
            if name in after
        }
        findings.add(
            section,
            "CPU per event",
            ", ".join(f"{name} {ms:.2f} ms" for name, ms in spent.items()),
            cpu_ms_per_event={name: round(ms, 3) for name, ms in spent.items()},
        )
        if "worker" in after:
            findings.add(
                section,
                "worker RSS after",
                f"{after['worker'].rss_kib / 1024:,.0f} MiB",
                worker_rss_mib=round(after["worker"].rss_kib / 1024, 1),
            )


def raw_usage(usage: ProcessUsage) -> dict[str, float]:
    """A process's usage for the JSON."""
    return {
        "rss_mib": round(usage.rss_mib, 1),
        "peak_mib": round(usage.peak_mib, 1),
        "cpu_percent": round(usage.cpu_mean, 2),
        "cpu_percent_highest": round(usage.cpu_max, 2),
    }


def log_tail(log: Path | None, lines: int = 8, width: int = 300) -> str:
    """The last lines of a process's log, without terminal colours, cut to ``width``."""
    if log is None or not log.exists():
        return "(no log)"
    text = ANSI.sub("", log.read_text(errors="replace"))
    return "\n".join(line[:width] for line in text.splitlines()[-lines:])
