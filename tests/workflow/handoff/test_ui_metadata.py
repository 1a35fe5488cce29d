"""What an admin reads of a lead in the Temporal UI, on a real (time-skipping) server: the
summary the lead starts with, the details every run publishes, and the owner attributes as
the hand-off goes, never an email address; and after a continue-as-new, the new run's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.messages import EventReceived
from nurture.domain.lead.naming import COLUMN_GAP
from tests.conftest import Harness
from tests.helpers import event, submission
from tests.waiting import eventually, view_when
from tests.workflow.handoff.handofftools import act, log, make_sql

_EMAIL = re.compile(r"[^\s@|]+@[^\s@|]+")


def _value(payload: Payload) -> Any:
    """A payload's JSON value; ``None`` for a null (an unset attribute)."""
    return None if payload.metadata.get("encoding") == b"binary/null" else json.loads(payload.data)


async def _attributes(h: Harness, lead_id: str) -> dict[str, Any]:
    """The lead's search attributes by name, unset ones as ``None``."""
    described = await h.describe(workflow_id_for(lead_id))
    fields = described.workflow_execution_info.search_attributes.indexed_fields
    return {name: _value(payload) for name, payload in fields.items()}


async def _details(h: Harness, lead_id: str) -> str:
    handle = h.client.get_workflow_handle(workflow_id_for(lead_id))
    meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return meta.current_details


class TestStaticSummary:
    """The API starts a lead with a summary naming it (the real server: the time-skipping
    one keeps no user metadata)."""

    async def test_named_without_address(self, harness, dev_env: WorkflowEnvironment) -> None:
        async with harness(env=dev_env) as h:
            await h.gateway.submit_form("ui-summary", submission(at=await h.now()))
            await view_when(h, "ui-summary", lambda v: bool(v.forms))
            handle = h.client.get_workflow_handle(workflow_id_for("ui-summary"))
            summary = await (await handle.describe()).static_summary()
        assert summary == "Ada L. · Globex · white-paper form"


class TestUiMetadata:
    """The details and NurtureOwner/NurtureAcceptBy through a hand-off."""

    async def test_summary_details_and_owner(
        self, harness, always_open: Path, team_file: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """Assigned, the owner and the deadline are set and the details name Ada of Globex;
        accepted, the deadline is unset and the owner stays."""
        async with harness(project_file=always_open, sales_file=team_file, env=sales_env) as h:
            await make_sql(h, "ui-meta")
            view = await view_when(h, "ui-meta", lambda v: "assigned" in log(v))
            assert view.owner in ("ana", "bob") and view.accept_by is not None
            attributes = await _attributes(h, "ui-meta")
            assert attributes["NurtureOwner"] == view.owner
            assert attributes["NurtureAcceptBy"] == view.accept_by.isoformat()
            details = await _details(h, "ui-meta")
            assert details.startswith("### Ada L. · Globex · sql · ")
            assert f"| rule | {COLUMN_GAP}points | {COLUMN_GAP}hits |" in details
            await act(h, "ui-meta", action="accept", actor=view.owner)

            async def accepted() -> bool:
                values = await _attributes(h, "ui-meta")
                return values.get("NurtureAcceptBy") is None

            await eventually(accepted)
            attributes = await _attributes(h, "ui-meta")
            assert attributes["NurtureOwner"] == view.owner
            everything = [await _details(h, "ui-meta"), *map(str, attributes.values())]
            assert not any(_EMAIL.search(text) for text in everything), everything

    async def test_new_run_names_the_lead(
        self, harness, always_open: Path, team_file: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """Continued as new (3 messages a run), the lead's new run publishes its one-line
        summary and owner at once, still without an address."""
        async with harness(
            project_file=always_open, sales_file=team_file, env=sales_env, max_inbound_per_run=3
        ) as h:
            await make_sql(h, "ui-can")
            now = await h.now()
            await h.gateway.tell("ui-can", EventReceived(event=event("page_viewed", at=now)))
            view = await view_when(h, "ui-can", lambda v: "assigned" in log(v))
            handle = h.client.get_workflow_handle(workflow_id_for("ui-can"))

            async def continued() -> bool:
                started = (await handle.fetch_history()).events[0]
                return bool(
                    started.workflow_execution_started_event_attributes.continued_execution_run_id
                )

            await eventually(continued)

            async def published() -> bool:
                return (await _details(h, "ui-can")).startswith("### Ada L. · Globex · sql · ")

            await eventually(published)
            assert _EMAIL.search(await _details(h, "ui-can")) is None
            assert (await _attributes(h, "ui-can"))["NurtureOwner"] == view.owner
