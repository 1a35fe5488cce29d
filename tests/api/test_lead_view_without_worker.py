"""A lead's view when no worker answers: the caller hears Temporal is unavailable within the
gateway's query timeout, rather than holding a page or a script for the SDK's own wait."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from nurture.adapters.temporal import gateway as gateway_module
from nurture.adapters.temporal.gateway import TemporalLeadGateway
from tests.helpers import submission


async def test_a_lead_nobody_serves_fails_fast(
    dev_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_module, "QUERY_TIMEOUT", gateway_module.timedelta(seconds=1))
    gateway = TemporalLeadGateway(dev_env.client, f"nobody-{uuid.uuid4().hex[:8]}")
    lead_id = f"unserved-{uuid.uuid4().hex[:8]}"
    await gateway.submit_form(lead_id, submission())  # started; no worker polls its queue
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(RPCError):
            await asyncio.wait_for(gateway.get_lead(lead_id), timeout=15)
        assert loop.time() - started < 5
    finally:
        handle = dev_env.client.get_workflow_handle(gateway_module.workflow_id_for(lead_id))
        await handle.terminate()
