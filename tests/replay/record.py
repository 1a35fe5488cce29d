"""Record a LeadWorkflow history for the replay tests: ``python -m tests.replay.record NAME``.

Record a new file when a workflow version ships; never re-record an existing one, since
the point of the replay tests is that old histories still replay on new code.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from nurture.domain.identity import workflow_id_for
from tests.conftest import Harness, start_time_skipping, write_always_open_config
from tests.helpers import event, submission
from tests.waiting import sent, view_when

HERE = Path(__file__).parent


async def record(name: str) -> list[Path]:
    """Run one lead through thanks, events, the evaluation sequence (and its end), a
    continue-as-new and a silence penalty; save every lead run and its children's histories."""
    if any(HERE.glob(f"{name}_*.json")):
        raise SystemExit(f"{name} is recorded already: name the new version instead")
    env = await start_time_skipping()
    with tempfile.TemporaryDirectory() as folder:
        # No continue-as-new here (v1 and v2 have it): the time-skipping server stops
        # skipping once a child ends after the run that started it continued as new.
        h = Harness(
            env, max_inbound_per_run=60, project_file=write_always_open_config(Path(folder))
        )
        async with h.worker:
            paths = await _drive(env, h, name)
    await env.shutdown()
    for path in paths:
        print(f"recorded {path}")
    return paths


async def _drive(env: WorkflowEnvironment, h: Harness, name: str) -> list[Path]:
    now = await h.now()
    await h.gateway.submit_form("replay", submission(at=now, delay=timedelta(days=2)))
    await view_when(h, "replay", lambda v: sent(v, "thank_you"))
    for _ in range(6):
        await h.gateway.record_event("replay", event("page_viewed", at=now, section="product"))
    view = await view_when(h, "replay", lambda v: sent(v, "buying_guide"))
    children = [e.workflow_id for e in view.enrolments]
    await h.gateway.record_event("replay", event("webinar_registered", at=now))
    await env.sleep(timedelta(days=4, minutes=1))
    await view_when(h, "replay", lambda v: sent(v, "webinar_invite"))
    await env.sleep(timedelta(days=3, minutes=1))
    await view_when(h, "replay", lambda v: bool(v.enrolments) and v.sequence is None)
    await env.sleep(timedelta(days=31))
    await view_when(h, "replay", lambda v: any(ln.rule == "inactivity" for ln in v.explanation))
    handle = env.client.get_workflow_handle(workflow_id_for("replay"))
    paths = await _save_every_run(env, handle.id, (await handle.describe()).run_id, name)
    for child_id in children:
        child = await env.client.get_workflow_handle(child_id).fetch_history()
        path = HERE / f"{name}_{child_id.rsplit('/', 1)[-1]}.json"
        path.write_text(child.to_json())
        paths.append(path)
    await handle.terminate()
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
