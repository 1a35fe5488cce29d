"""A run keeps the configuration it started with, by digest, across a restart with edited
files; a digest this worker does not hold fails a workflow task, never the workflow."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import ConfigActivities, FactActivities, SalesActivities
from bench.history_sizes import kind
from nurture.adapters.configstore import ConfigSnapshotStore
from nurture.adapters.temporal.gateway import TemporalLeadGateway
from nurture.domain.config import CATALOG, ConfigRef, ConfigSnapshot
from nurture.domain.emails import mail_task_queue
from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.messages import EventReceived
from nurture.testing import MemoryConfigStore, MemoryFactStore, MemoryLedger, RecordingMailer
from tests.configfiles import break_file, copy_project
from tests.helpers import config_snapshot, email_activities, event, submission
from tests.waiting import eventually
from workflows import LeadWorkflow, RouterWorkflow, SequenceWorkflow

WEBINAR = ("points = 3\ncap = 9", "points = 6\ncap = 9")
SUPPORT = ("points = 5\ncap = 15", "points = 8\ncap = 15")


class Node:
    """One worker process of the test: its config activities over a folder of files, a
    store shared with the other nodes, a mailer, the lead workflows' queue."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        queue: str,
        config: Path,
        store: ConfigSnapshotStore,
        activities: type[ConfigActivities] = ConfigActivities,
    ) -> None:
        self.client: Client = env.client
        self.queue = queue
        self.mailer = RecordingMailer()
        self.sales = SalesActivities(self.client, queue, config / "sales.toml")
        self.config = activities(
            config / "scoring.toml", config / "nurture.toml", self.sales.team, store
        )

    @asynccontextmanager
    async def running(self, **options: Any) -> AsyncIterator[None]:
        emails = email_activities(self.mailer, MemoryLedger())
        worker = Worker(
            self.client,
            task_queue=self.queue,
            workflows=[LeadWorkflow, SequenceWorkflow, RouterWorkflow],
            activities=[
                *self.config.activities(),
                *self.sales.activities(),
                *FactActivities(MemoryFactStore()).activities(),
            ],
            **options,
        )
        mail = Worker(
            self.client, task_queue=mail_task_queue(self.queue), activities=emails.sending()
        )
        async with worker, mail, self.config.fetching():
            yield

    def templates(self) -> list[str]:
        return [str(m["X-Nurture-Template"]) for m in self.mailer.sent]


async def points_when(gateway: TemporalLeadGateway, lead_id: str, label: str) -> dict[str, int]:
    """The lead's points per rule once ``label`` scored. (Each query may wait at most 5 s:
    the first one after a restart can go unanswered on the test server.)"""
    box: dict[str, int] = {}

    async def scored() -> bool:
        with suppress(Exception):
            view = await asyncio.wait_for(gateway.get_lead(lead_id), timeout=5)
            box.update({line.label: line.points for line in view.explanation})
        return label in box

    await eventually(scored, within=30)
    return box


async def next_run_loaded(client: Client, lead_id: str) -> bool:
    """The lead continued as new, and its new run recorded the configuration it works with."""
    with suppress(RPCError):
        history = await client.get_workflow_handle(workflow_id_for(lead_id)).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        return bool(started.continued_execution_run_id) and any(
            kind(e) == "MARKER_RECORDED current_config" for e in history.events
        )
    return False


async def thanked(node: Node) -> bool:
    return node.templates() == ["thank_you"]


async def terminate(client: Client, lead_id: str) -> None:
    with suppress(RPCError):
        await client.get_workflow_handle(workflow_id_for(lead_id)).terminate()


class TestRestartWithEditedFiles:
    """After a restart on edited files, a run in flight replays on the configuration it
    started with, and the lead's next run works with the new one."""

    async def test_replay_on_a_next_run_on_b(
        self, time_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """Each message is a run (``max_inbound_per_run=1``). The run waiting when the
        worker stops started on A; the restarted worker, preloaded from the store and
        with nothing cached, replays it and scores the webinar with A's 3 points, and the
        support contact, in the next run, with B's 8; both versions are stored. (The
        test process's catalog held A already: ``TestMiss`` takes a digest it lacks.)"""
        env, config = time_env, copy_project(tmp_path) / "config"
        queue, lead_id = f"tq-{uuid.uuid4().hex[:8]}", "wf-config-ref"
        store = MemoryConfigStore()
        gateway = TemporalLeadGateway(env.client, queue, max_inbound_per_run=1)
        first = Node(env, queue, config, store)
        try:
            # No cache, so no sticky queue: the stopped worker holds no task the test
            # server would keep for it until its (frozen) clock moves.
            async with first.running(max_cached_workflows=0):
                await gateway.submit_form(lead_id, submission(at=await env.get_current_time()))
                await eventually(lambda: thanked(first), within=20)
                await eventually(lambda: next_run_loaded(env.client, lead_id), within=20)
            break_file(config / "scoring.toml", *WEBINAR)
            break_file(config / "scoring.toml", *SUPPORT)
            second = Node(env, queue, config, store)
            assert await second.config.preload() == 1  # A, stored by the first worker
            async with second.running():
                now = await env.get_current_time()
                await gateway.tell(
                    lead_id, EventReceived(event=event("webinar_registered", at=now))
                )
                points = await points_when(gateway, lead_id, "Webinar registration")
                assert points["Webinar registration"] == 3
                now = await env.get_current_time()
                await gateway.tell(lead_id, EventReceived(event=event("support_contacted", at=now)))
                points = await points_when(gateway, lead_id, "Contact with technical support")
                assert points["Contact with technical support"] == 8
                assert points["Webinar registration"] == 3
        finally:
            await terminate(env.client, lead_id)
        assert len(await store.all()) == 2
        assert first.templates() == ["thank_you"] and second.templates() == []


def stored_elsewhere(snapshot: ConfigSnapshot) -> type[ConfigActivities]:
    """Config activities answering with ``snapshot``, as if another worker had stored it:
    in the database, not in this process's catalog."""

    class ElsewhereConfig(ConfigActivities):
        @activity.defn(name="current_config")
        async def current_config(self) -> ConfigRef:
            return snapshot.ref()

    return ElsewhereConfig


class TestMiss:
    """A digest the worker does not hold fails the first workflow task; the worker fetches
    it, the retry succeeds and the lead is thanked, its workflow never failed."""

    async def test_task_fails_then_retry_succeeds(
        self, time_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        env, config = time_env, copy_project(tmp_path) / "config"
        queue, lead_id = f"tq-{uuid.uuid4().hex[:8]}", "wf-config-miss"
        shipped = config_snapshot()
        unseen = shipped.scoring.model_copy(update={"name": f"elsewhere-{uuid.uuid4().hex}"})
        elsewhere = shipped.model_copy(update={"scoring": unseen})
        digest = elsewhere.ref().digest
        store = MemoryConfigStore()
        await store.put(digest, elsewhere)
        assert digest not in CATALOG
        gateway = TemporalLeadGateway(env.client, queue)
        node = Node(env, queue, config, store, stored_elsewhere(elsewhere))
        try:
            async with node.running():
                await gateway.submit_form(lead_id, submission(at=await env.get_current_time()))
                await eventually(lambda: thanked(node), within=30)
                history = await env.client.get_workflow_handle(
                    workflow_id_for(lead_id)
                ).fetch_history()
        finally:
            await terminate(env.client, lead_id)
        assert digest in CATALOG
        (failure,) = task_failures(history)
        assert f"configuration {digest} is not loaded in this worker" in failure
        types = {e.event_type for e in history.events}
        assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED not in types


def task_failures(history: WorkflowHistory) -> list[str]:
    return [
        e.workflow_task_failed_event_attributes.failure.message
        for e in history.events
        if e.HasField("workflow_task_failed_event_attributes")
    ]
