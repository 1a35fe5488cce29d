"""Record a LeadWorkflow history for the replay tests: ``python -m tests.replay.record NAME``.

Record a new file when a workflow version ships; never re-record an existing one, since
the point of the replay tests is that old histories still replay on new code.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from nurture.binaries import find_binary
from nurture.identity import workflow_id_for
from nurture.temporal import register_search_attributes
from tests.conftest import Harness
from tests.helpers import event, submission
from tests.waiting import sent, view_when

HERE = Path(__file__).parent


async def record(name: str) -> list[Path]:
    """Run one lead through thanks, events, a continue-as-new, the second conversion and a
    silence penalty, then save the history of every run."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(find_binary("temporal-test-server")),
    )
    await register_search_attributes(env.client, "default")
    h = Harness(env, max_inbound_per_run=4)
    async with h.worker:
        now = await h.now()
        await h.gateway.submit_form("replay", submission(at=now, delay=timedelta(days=2)))
        await view_when(h, "replay", lambda v: sent(v, "thank_you"))
        for kind, props in [
            ("page_viewed", {"section": "product"}),
            ("webinar_registered", {}),
            ("page_viewed", {"section": "blog"}),
        ]:
            await h.gateway.record_event("replay", event(kind, at=now, **props))
        await view_when(h, "replay", lambda v: any(ln.rule == "blog_visit" for ln in v.explanation))
        await env.sleep(timedelta(days=3))
        await view_when(h, "replay", lambda v: sent(v, "second_conversion"))
        await env.sleep(timedelta(days=31))
        await view_when(h, "replay", lambda v: any(ln.rule == "inactivity" for ln in v.explanation))
        handle = env.client.get_workflow_handle(workflow_id_for("replay"))
        paths = await _save_every_run(env, handle.id, (await handle.describe()).run_id, name)
        await handle.terminate()
    await env.shutdown()
    for path in paths:
        print(f"recorded {path}")
    return paths


async def _save_every_run(
    env: WorkflowEnvironment, workflow_id: str, run_id: str, name: str
) -> list[Path]:
    """Walk the continue-as-new chain back from ``run_id``; one file per run, oldest first."""
    histories = []
    while run_id:
        history = await env.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id
    paths = []
    for number, history in enumerate(reversed(histories), 1):
        path = HERE / f"{name}_run{number}.json"
        path.write_text(history.to_json())
        paths.append(path)
    return paths


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "lead_workflow_v1"))
