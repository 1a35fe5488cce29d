"""The router on the real Temporal dev server, where updates sent at the same moment are
delivered together and their handlers interleave at every await: the rotation must stay
exact, capacity must hold, and a retried request must get its first answer."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from nurture.domain.sales.router import AssignRequest, RouteRequest, RouterInput, router_workflow_id
from nurture.domain.sales.routing import RoutingDecision, RoutingLead, SalesTeam
from workflows import RouterWorkflow

TEAM = SalesTeam.model_validate(
    {
        "manager": "boss@example.com",
        "app_url": "https://crm.example.com",
        "hours": {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "23:59:59.999999"},
        "reps": [
            {"id": "ana", "name": "Ana", "email": "ana@example.com", "weight": 2, "capacity": 12},
            {"id": "bob", "name": "Bob", "email": "bob@example.com", "capacity": 6},
        ],
    }
)


@asynccontextmanager
async def router_on(
    env: WorkflowEnvironment, input: RouterInput | None = None
) -> AsyncIterator[WorkflowHandle]:
    """A router of its own task queue, with a worker serving it."""
    task_queue = f"router-{uuid.uuid4().hex[:8]}"
    async with Worker(env.client, task_queue=task_queue, workflows=[RouterWorkflow]):
        yield await env.client.start_workflow(
            RouterWorkflow.run,
            input or RouterInput(),
            id=router_workflow_id(task_queue),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )


async def ask(router: WorkflowHandle, request: RouteRequest) -> RoutingDecision:
    """One assignment, retried as the ``assign_owner`` activity is: while the server holds
    its limit of in-flight updates for the router (10 by default), or aborted one."""
    while True:
        try:
            return await router.execute_update(RouterWorkflow.assign, request)
        except RPCError as err:
            if err.status not in (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE):
                raise
            await asyncio.sleep(0.05)


def request(i: int, attempt: int = 0) -> RouteRequest:
    return RouteRequest(
        request=AssignRequest(key=f"lead-{i}:1:{attempt}", lead=RoutingLead(lead_id=f"lead-{i}")),
        team=TEAM,
    )


@pytest.mark.asyncio(loop_scope="session")
async def test_simultaneous_updates_keep_rotation_and_capacity(
    dev_env: WorkflowEnvironment,
) -> None:
    """Twenty leads ask at once, each twice (an activity retried while its first request is
    still in flight). Ana (weight 2, room for 12) gets 12 and Bob (room for 6) gets 6:
    exactly their shares, never past capacity; the last two go to the pool. Both copies of
    a request get the same answer, counted once, and the recorded history replays."""
    async with router_on(dev_env) as router:
        both: list[RoutingDecision] = await asyncio.gather(
            *(ask(router, request(i % 20)) for i in range(40))
        )
        decisions, copies = both[:20], both[20:]
        assert [d.rep_id for d in copies] == [d.rep_id for d in decisions]
        owners = Counter(d.rep_id for d in decisions)
        assert owners == {"ana": 12, "bob": 6, None: 2}
        rotation = await router.query(RouterWorkflow.rotation)
        assert rotation == {"assigned": {"ana": 12, "bob": 6}, "open": {"ana": 12, "bob": 6}}

        # Retries of every request, again all at once, get their first answers and leave
        # the rotation as it was.
        again = await asyncio.gather(*(ask(router, request(i)) for i in range(20)))
        assert [d.rep_id for d in again] == [d.rep_id for d in decisions]
        assert await router.query(RouterWorkflow.rotation) == rotation

        history = await router.fetch_history()
        await router.terminate(reason="test over")
    await Replayer(
        workflows=[RouterWorkflow], data_converter=pydantic_data_converter
    ).replay_workflow(history)


@pytest.mark.asyncio(loop_scope="session")
async def test_bursts_interleave_on_one_workflow_task(dev_env: WorkflowEnvironment) -> None:
    """The premise of the test above: on the dev server, simultaneous updates are accepted
    in one workflow task (their handlers run side by side), not one by one."""
    async with router_on(dev_env) as router:
        await asyncio.gather(*(ask(router, request(i)) for i in range(8)))
        history = await router.fetch_history()
        await router.terminate(reason="test over")
    accepted = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    tasks = {
        e.workflow_execution_update_accepted_event_attributes.accepted_request_sequencing_event_id
        for e in accepted
    }
    assert len(accepted) == 8
    assert len(tasks) < 8, "every update came in a workflow task of its own"


async def runs_of(client: Client, router: WorkflowHandle) -> list[WorkflowHistory]:
    """Every run of the router, oldest first (the continue-as-new chain)."""
    runs = [await router.fetch_history()]
    while (
        previous := runs[0]
        .events[0]
        .workflow_execution_started_event_attributes.continued_execution_run_id
    ):
        handle = client.get_workflow_handle(router.id, run_id=previous)
        runs.insert(0, await handle.fetch_history())
    return runs


@pytest.mark.asyncio(loop_scope="session")
async def test_continues_as_new_after_its_request_budget(dev_env: WorkflowEnvironment) -> None:
    """With room for 4 requests a run, 10 leads and their retries go through several runs:
    the rotation and every answer carry over, so a retry after the continue-as-new still
    gets its first answer, and every run replays."""
    async with router_on(dev_env, RouterInput(max_requests_per_run=4)) as router:
        decisions = [await ask(router, request(i)) for i in range(10)]
        again = [await ask(router, request(i)) for i in range(10)]
        assert [d.rep_id for d in again] == [d.rep_id for d in decisions]
        assert Counter(d.rep_id for d in decisions) == {"ana": 7, "bob": 3}
        rotation = await router.query(RouterWorkflow.rotation)
        assert rotation == {"assigned": {"ana": 7, "bob": 3}, "open": {"ana": 7, "bob": 3}}
        runs = await runs_of(dev_env.client, router)
        await router.terminate(reason="test over")
    assert len(runs) >= 4, f"{len(runs)} runs for 20 requests at 4 a run"
    replayer = Replayer(workflows=[RouterWorkflow], data_converter=pydantic_data_converter)
    for history in runs:
        await replayer.replay_workflow(history)
