"""A time-skipping test server whose skips do not stall on the server's lost locks.

Temporal's Java test server skips time only while its lock counter is zero. Every workflow
task, activity, child start and external signal takes a lock and gives it back when done,
but a few paths never give theirs back: a workflow terminated with a task or an activity
outstanding (TERMINATE leaves both), and a child that ends after the run that started it
continued as new (the child's "notify parent" lock is released by the parent, which is
gone). The real server has no such counter and is not affected: these are test-server
quirks (see sdk-java's TestWorkflowMutableStateImpl), but each one stalls every later
``env.sleep`` in real time, and the SDK gives up on the sleep after 30 s.

:func:`steady` gives the SDK's time-skipping environment one change: while its
sleep is held up and every open workflow on the server has been idle (no workflow task, no
activity) for a moment, the hold can only be a lost lock, so it gives one back. The sleep's
own wake-up is on the server's timer queue before any lock is given back, so time never
skips past the sleep's end; and a lock is given back only while nothing is in flight, so
an activity never sees time jump under it.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import timedelta

from temporalio.api.testservice.v1 import SleepRequest, UnlockTimeSkippingRequest
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    ListOpenWorkflowExecutionsRequest,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

#: How long every open workflow must stay idle before a hold counts as a lost lock.
IDLE_FOR = 0.5
#: How often a held-up sleep looks at the server.
POLL = 0.1


async def server_busy(env: WorkflowEnvironment) -> bool:
    """Whether any open workflow on the server has a workflow task or an activity pending."""
    service = env.client.workflow_service
    namespace = env.client.namespace
    listed = await service.list_open_workflow_executions(
        ListOpenWorkflowExecutionsRequest(namespace=namespace, maximum_page_size=1000)
    )
    for info in listed.executions:
        with suppress(RPCError):  # closed since it was listed
            described = await service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(namespace=namespace, execution=info.execution)
            )
            if described.pending_activities or described.HasField("pending_workflow_task"):
                return True
    return False


async def steady_sleep(env: WorkflowEnvironment, duration: timedelta | float) -> int:
    """Skip ``duration`` of server time; return how many lost locks had to be given back."""
    request = SleepRequest()
    request.duration.FromTimedelta(
        duration if isinstance(duration, timedelta) else timedelta(seconds=duration)
    )
    service = env.client.test_service
    # The server schedules the wake-up, then gives back the caller's lock, in one step.
    sleeping = asyncio.ensure_future(
        service.unlock_time_skipping_with_sleep(request, timeout=timedelta(minutes=10))
    )
    loop = asyncio.get_running_loop()
    given_back = 0
    idle_since: float | None = None
    try:
        while True:
            done, _ = await asyncio.wait({sleeping}, timeout=POLL)
            if done:
                sleeping.result()
                return given_back
            if await server_busy(env):
                idle_since = None
                continue
            idle_since = idle_since if idle_since is not None else loop.time()
            if loop.time() - idle_since < IDLE_FOR:
                continue
            # Held up with nothing in flight for a while: a lost lock. Give one back and
            # look again (a lock taken meanwhile by a timer that just fired shows as busy).
            with suppress(RPCError):  # none left: the counter is already at zero
                await service.unlock_time_skipping(UnlockTimeSkippingRequest())
                given_back += 1
            idle_since = None
    finally:
        if not sleeping.done():
            sleeping.cancel()
            with suppress(BaseException):
                await sleeping


def steady(env: WorkflowEnvironment) -> WorkflowEnvironment:
    """The same environment, its ``sleep`` made :func:`steady_sleep`."""
    base = type(env)
    if base.__name__ != "_V1WorkflowEnvironment":  # pragma: no cover - SDK changed shape
        raise TypeError(f"expected the Java test server's environment, got {base.__name__}")
    env.__class__ = type("SteadyClock", (base,), {"sleep": _sleep})
    return env


async def _sleep(self: WorkflowEnvironment, duration: timedelta | float) -> None:
    given_back = await steady_sleep(self, duration)
    # Kept for the tests of this module, and for whoever wonders why a skip took a second.
    self.locks_given_back = getattr(self, "locks_given_back", 0) + given_back  # type: ignore[attr-defined]
