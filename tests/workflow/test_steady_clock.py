"""The tests' time-skipping server keeps skipping when the test server loses a lock, and
never skips past the end of a sleep while doing so."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, SleepRequest
from temporalio.testing import WorkflowEnvironment

from tests.timeskip import steady_sleep


async def test_a_lost_lock_is_given_back_and_time_stops_at_the_sleeps_end(
    time_env: WorkflowEnvironment,
) -> None:
    service = time_env.client.test_service
    # A lock nobody will give back, as the test server loses one when a workflow is
    # terminated with an activity outstanding.
    await service.lock_time_skipping(LockTimeSkippingRequest())
    # Something due after the sleep's end: the skip must not jump to it.
    later = SleepRequest()
    later.duration.FromTimedelta(timedelta(days=2))
    waiter = asyncio.ensure_future(service.sleep(later))
    start = await time_env.get_current_time()

    given_back = await asyncio.wait_for(steady_sleep(time_env, timedelta(days=1)), timeout=20)

    after = await time_env.get_current_time()
    assert given_back == 1
    assert timedelta(days=1) <= after - start < timedelta(days=1, minutes=1)
    assert not waiter.done()
    waiter.cancel()


async def test_without_a_lost_lock_nothing_is_given_back(time_env: WorkflowEnvironment) -> None:
    start = await time_env.get_current_time()
    assert await steady_sleep(time_env, timedelta(hours=5)) == 0
    assert timedelta(hours=5) <= await time_env.get_current_time() - start


async def test_the_sdks_own_sleep_stalls_on_a_lost_lock(time_env: WorkflowEnvironment) -> None:
    """Why the module exists: the plain sleep waits in real time for the lost lock."""
    service = time_env.client.test_service
    await service.lock_time_skipping(LockTimeSkippingRequest())
    request = SleepRequest()
    request.duration.FromTimedelta(timedelta(days=1))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(service.unlock_time_skipping_with_sleep(request), timeout=2)
