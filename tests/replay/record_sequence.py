"""Record a sequence's history for the replay tests: ``python -m tests.replay.record_sequence
NAME VERSION``. Runs the sequence alone, on the time-skipping server with a send window that
never closes, from start to end (no events arrive, so every wait_for times out), and saves
``tests/replay/sequence_<name>_v<version>.json``. Record once per version; never re-record.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from nurture.domain.models import ContentLink
from nurture.domain.sequences.models import FormContext, LeadSnapshot, SequenceInput
from tests.conftest import Harness, start_time_skipping, write_always_open_config
from workflows import SequenceWorkflow

HERE = Path(__file__).parent
FORM_STARTED = {"welcome"}
"""Sequences a form starts: recorded with a sample form (offer and related content)."""
SAMPLE_FORM = FormContext(
    form_id="white-paper",
    offer=ContentLink(title="The buying guide", url="https://example.com/guide.pdf"),
    related=(ContentLink(title="Webinar", url="https://example.com/webinar"),),
    second_conversion_delay=timedelta(days=2),
)


async def record(name: str, version: int) -> Path:
    """Run ``name`` v``version`` to its end for a sample lead and save the history."""
    env = await start_time_skipping()
    lead = LeadSnapshot(
        lead_id="replay",
        email="replay@example.com",
        full_name="Ada Lovelace",
        attributes={"first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace"},
    )
    with tempfile.TemporaryDirectory() as folder:
        h = Harness(env, project_file=write_always_open_config(Path(folder)))
        async with h.worker:
            handle = await env.client.start_workflow(
                SequenceWorkflow.run,
                SequenceInput(
                    name=name,
                    version=version,
                    enrolment=1,
                    lead=lead,
                    form=SAMPLE_FORM if name in FORM_STARTED else None,
                ),
                id=f"replay-{name}-v{version}",
                task_queue=h.task_queue,
            )
            await handle.result()
            history = await handle.fetch_history()
    await env.shutdown()
    path = HERE / f"sequence_{name}_v{version}.json"
    path.write_text(history.to_json())
    return path


if __name__ == "__main__":
    print(f"recorded {asyncio.run(record(sys.argv[1], int(sys.argv[2])))}")
