"""Scaling out on one machine: two worker processes on one stack share the leads, and
killing one of them mid-burst loses no thank-you and doubles none."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nurture.adapters.temporal.client import connect
from nurture.config.settings import TemporalSettings
from nurture.devtools.stack import DevStack
from nurture.domain.identity import workflow_id_for
from nurture.testing import ScriptedSmtpServer
from tests.e2e.conftest import api_client, running_stack
from tests.e2e.stack.tools import post_form, wait_until

pytestmark = pytest.mark.e2e

LEADS = 40


@pytest.fixture(scope="module")
def smtp() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def stack(project_home: Path, smtp: ScriptedSmtpServer) -> Iterator[DevStack]:
    # Forty forms from one address: the public rate limit would refuse most of them.
    env = {"NURTURE_API_KEYS": "e2e-key", "NURTURE_API_PUBLIC_RATE": "off"}
    with running_stack(project_home, smtp.port, env) as dev:
        dev.add_worker("worker-2")
        yield dev


@pytest.fixture(scope="module")
def api(stack: DevStack) -> Iterator[httpx.Client]:
    with api_client(stack) as client:
        yield client


async def _identities(stack: DevStack, lead_ids: list[str]) -> Counter[str]:
    """Which worker processes completed the leads' workflow tasks (identity: pid@host)."""
    client = await connect(TemporalSettings(address=f"127.0.0.1:{stack.ports.temporal}"))
    seen: Counter[str] = Counter()
    for lead_id in lead_ids:
        handle = client.get_workflow_handle(workflow_id_for(lead_id))
        async for event in handle.fetch_history_events():
            if event.HasField("workflow_task_completed_event_attributes"):
                seen[event.workflow_task_completed_event_attributes.identity] += 1
    return seen


class TestTwoWorkers:
    """Two workers, one killed halfway through a burst of forms."""

    def test_every_thank_you_once(
        self, api: httpx.Client, stack: DevStack, smtp: ScriptedSmtpServer
    ) -> None:
        """Forty forms; the first worker is SIGKILLed after the first twenty: the second
        serves the rest, and the relay has exactly one thank-you per address."""
        addresses = [f"scale-{n}@e2e.example" for n in range(LEADS)]
        lead_ids = [post_form(api, address, first_name="Scale") for address in addresses[:20]]
        wait_until(lambda: _thanked(smtp) >= 10, within=60)
        first_pid = stack.get("worker").process.pid
        stack.get("worker").kill()
        lead_ids += [post_form(api, address, first_name="Scale") for address in addresses[20:]]
        wait_until(lambda: _thanked(smtp) >= LEADS, within=120)
        time.sleep(3)  # anything sent twice would have arrived by now
        per_address = Counter(
            m["To"].addresses[0].addr_spec
            for m in smtp.messages
            if m["X-Nurture-Template"] == "thank_you"
        )
        assert set(per_address) == set(addresses)
        assert set(per_address.values()) == {1}
        identities = asyncio.run(_identities(stack, lead_ids))
        pids = {identity.split("@")[0] for identity in identities}
        assert str(first_pid) in pids and len(pids) == 2, identities


def _thanked(smtp: ScriptedSmtpServer) -> int:
    return sum(1 for m in smtp.messages if m["X-Nurture-Template"] == "thank_you")
