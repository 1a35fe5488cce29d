"""Does a Temporal server honour task-queue priorities? Check before relying on them.

    .venv/bin/python -m bench.priority_probe [--address 127.0.0.1:7233] [--backlog 100]

Against a running server (``nurture dev``'s, or production's: it uses task queues of its
own, and its workflows finish in seconds), for activity tasks and then workflow tasks:
queues ``--backlog`` tasks at priority 5 while no worker can take them, then one at 1 (and,
as a control, one at 5), then lets a worker with one slot drain them, and prints how many
tasks ran before the last one queued. A server that honours priorities runs the priority-1
task first or nearly (the control last or nearly); one that ignores them, last both times.
Temporal orders tasks within each partition of a queue: with several write partitions
(``matching.numTaskqueueWritePartitions``, 4 by default) expect a few to go first.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import Priority
from temporalio.worker import Worker

from nurture.adapters.temporal.client import connect
from nurture.config.settings import TemporalSettings

ORDER: list[str] = []
"""What ran, in order: the probe's activities and workflows note themselves here."""

LAST = "last"


@activity.defn
async def note(name: str) -> None:
    ORDER.append(name)


@workflow.defn(sandboxed=False)
class Noted:
    """One workflow task: notes itself."""

    @workflow.run
    async def run(self, name: str) -> None:
        ORDER.append(name)


@workflow.defn(sandboxed=False)
class Scheduler:
    """Schedules the backlog of activities, then (once they wait) the last one."""

    @workflow.run
    async def run(self, queue: str, backlog: int, key: int) -> None:
        def start(name: str, priority: int) -> workflow.ActivityHandle[None]:
            return workflow.start_activity(
                note,
                name,
                task_queue=queue,
                start_to_close_timeout=timedelta(minutes=5),
                priority=Priority(priority_key=priority),
            )

        waiting = [start(f"b{i}", 5) for i in range(backlog)]
        await workflow.sleep(timedelta(seconds=1))
        await asyncio.gather(*waiting, start(LAST, key))


async def activities(client: Client, backlog: int, key: int) -> int:
    """Tasks that ran before the last activity queued (priority ``key``)."""
    ORDER.clear()
    own, queue = f"probe-{uuid.uuid4().hex[:8]}", f"probe-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=own, workflows=[Scheduler]):
        handle = await client.start_workflow(
            Scheduler.run, args=[queue, backlog, key], id=own, task_queue=own
        )
        await asyncio.sleep(3)  # the backlog and the last one wait, no worker on the queue
        async with Worker(client, task_queue=queue, activities=[note], max_concurrent_activities=1):
            await handle.result()
    return ORDER.index(LAST)


async def workflow_tasks(client: Client, backlog: int, key: int) -> int:
    """Workflows whose first task ran before the last workflow started (priority ``key``)."""
    ORDER.clear()
    queue = f"probe-{uuid.uuid4().hex[:8]}"

    async def start(name: str, priority: int) -> WorkflowHandle[Noted, None]:
        return await client.start_workflow(
            Noted.run,
            name,
            id=f"{queue}-{name}",
            task_queue=queue,
            priority=Priority(priority_key=priority),
        )

    handles = [await start(f"b{i}", 5) for i in range(backlog)]
    handles.append(await start(LAST, key))
    await asyncio.sleep(1)
    async with Worker(client, task_queue=queue, workflows=[Noted], max_concurrent_workflow_tasks=2):
        await asyncio.gather(*(handle.result() for handle in handles))
    return ORDER.index(LAST)


async def main(args: argparse.Namespace) -> None:
    client = await connect(TemporalSettings(address=args.address))
    print(f"{args.backlog} tasks at priority 5 waiting, then one more; tasks that ran first:")
    for kind, probe in (("activity tasks", activities), ("workflow tasks", workflow_tasks)):
        high = await probe(client, args.backlog, 1)
        control = await probe(client, args.backlog, 5)
        print(f"  {kind:<15} priority 1: {high:>4}   control, priority 5: {control:>4}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--address", default="127.0.0.1:7233")
    parser.add_argument("--backlog", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
